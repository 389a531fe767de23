/**
 * What a request gets from the middleware, for work nobody asked for over HTTP (cron jobs and queue consumers):
 * a run id, a logger bound to it, a Caller for services, an env whose D1 binding is metered,
 * and exactly one log line per run, carrying what the run cost in D1 (src/lib/d1-meter.ts) whether it succeeded
 * or failed. A failure is logged (type, reason, stack frames; see describeError) and rethrown, so the platform
 * records the run as failed and retries where it does (queues); nothing is swallowed.
 */
import { type Caller, systemCaller } from '../lib/caller';
import { costFields, D1Meter, meteredDatabase } from '../lib/d1-meter';
import { createLogger, describeError, type LogFields, type Logger } from '../lib/logger';

export type JobContext = {
  runId: string;
  logger: Logger;
  caller: Caller;
  /** The Worker's env with `DB` metered: the job's D1 work goes through it to be counted. */
  env: Env;
};

/** What a job may add to its run's log line (counts, decisions; never personal data). */
export type JobResult = LogFields | undefined;

export async function runJob(
  name: string,
  env: Env,
  work: (job: JobContext) => Promise<JobResult>,
): Promise<void> {
  const started = performance.now();
  const runId = crypto.randomUUID();
  const logger = createLogger({ job: name, run_id: runId });
  const caller = systemCaller(name, runId);
  const meter = new D1Meter();
  const metered = { ...env, DB: meteredDatabase(env.DB, meter) };
  // performance.now() only advances across I/O in Workers, which is the time worth reporting.
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  let result: JobResult;
  try {
    result = await work({ runId, logger, caller, env: metered });
  } catch (err) {
    logger.error('job', {
      status: 'error',
      duration_ms: elapsed(),
      ...costFields(meter),
      ...describeError(err),
    });
    throw err;
  }
  logger.info('job', { ...result, status: 'ok', duration_ms: elapsed(), ...costFields(meter) });
}
