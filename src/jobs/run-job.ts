/**
 * What a request gets from the middleware, for work nobody asked for over HTTP (cron jobs now; queue consumers
 * and alarms later): a run id, a logger bound to it, a Caller for services, and exactly one log line per run.
 * A failure is logged (type, reason, stack frames; see describeError) and rethrown, so the platform records the
 * run as failed and retries where it does (queues); nothing is swallowed.
 */
import { type Caller, systemCaller } from '../lib/caller';
import { createLogger, describeError, type LogFields, type Logger } from '../lib/logger';

export type JobContext = {
  runId: string;
  logger: Logger;
  caller: Caller;
};

/** What a job may add to its run's log line (counts, decisions; never personal data). */
export type JobResult = LogFields | undefined;

export async function runJob(name: string, work: (job: JobContext) => Promise<JobResult>): Promise<void> {
  const started = performance.now();
  const runId = crypto.randomUUID();
  const logger = createLogger({ job: name, run_id: runId });
  const caller = systemCaller(name, runId);
  // performance.now() only advances across I/O in Workers, which is the time worth reporting.
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  let result: JobResult;
  try {
    result = await work({ runId, logger, caller });
  } catch (err) {
    logger.error('job', { status: 'error', duration_ms: elapsed(), ...describeError(err) });
    throw err;
  }
  logger.info('job', { ...result, status: 'ok', duration_ms: elapsed() });
}
