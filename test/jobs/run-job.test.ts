/**
 * runJob (src/jobs/run-job.ts): one log line per run with the job, its run id, status, duration and what the run
 * cost in D1 through its metered env; a failure is logged with its error (and its cost so far) and rethrown. And
 * the cron dispatch: a trigger with no entry fails loudly, the every-minute trigger runs its (empty) list.
 */
import { createExecutionContext, createScheduledController } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import worker from '../../src/index';
import { runJob } from '../../src/jobs/run-job';
import { logLines } from '../helpers/request-cost';
import { unique } from '../helpers/unique';

/** Fires a cron trigger at the Worker's `scheduled` entry, as the platform does. */
function trigger(cron: string): Promise<void> {
  return worker.scheduled(createScheduledController({ cron }), env, createExecutionContext());
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('runJob', () => {
  it('writes one log line per run with the job, run id, status, duration, result and D1 cost', async () => {
    const table = unique('job').replace(/[^a-z0-9_]/gi, '_');
    await env.DB.prepare(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY)`).run();
    const log = vi.spyOn(console, 'log');

    await runJob('counting-job', env, async (job) => {
      await job.env.DB.prepare(`INSERT INTO ${table} (id) VALUES (1), (2)`).run();
      const { results } = await job.env.DB.prepare(`SELECT id FROM ${table}`).all();
      return { counted: results.length };
    });

    const lines = logLines(log).filter((l) => l.job === 'counting-job');
    expect(lines).toStrictEqual([
      {
        level: 'info',
        msg: 'job',
        time: expect.any(String),
        job: 'counting-job',
        run_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        counted: 2,
        status: 'ok',
        duration_ms: expect.any(Number),
        d1_queries: 2,
        d1_rows_read: expect.any(Number),
        d1_rows_written: 2,
      },
    ]);
    // The SELECT alone reads the two rows; D1 also counts what the INSERT read.
    expect(lines[0]?.d1_rows_read).toBeGreaterThanOrEqual(2);
  });

  it('logs a failing job with its error and its cost so far, and rethrows it', async () => {
    const error = vi.spyOn(console, 'error');
    const failure = new Error('query failed', { cause: new Error('D1_ERROR: no such table: missing') });

    await expect(
      runJob('failing-job', env, async (job) => {
        await job.env.DB.prepare('SELECT 1').all();
        throw failure;
      }),
    ).rejects.toBe(failure);

    expect(logLines(error).filter((l) => l.job === 'failing-job')).toStrictEqual([
      {
        level: 'error',
        msg: 'job',
        time: expect.any(String),
        job: 'failing-job',
        run_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        status: 'error',
        duration_ms: expect.any(Number),
        d1_queries: 1,
        d1_rows_read: 0,
        d1_rows_written: 0,
        error: 'Error',
        reason: 'D1_ERROR: no such table: missing',
        frames: expect.any(String),
      },
    ]);
  });
});

describe('cron triggers', () => {
  it('runs the every-minute trigger declared in wrangler.toml', async () => {
    await expect(trigger('* * * * *')).resolves.toBeUndefined();
  });

  it('fails a cron trigger that has no jobs, so the platform records it', async () => {
    await expect(trigger('0 0 * * *')).rejects.toThrow('No jobs are scheduled for cron "0 0 * * *"');
  });
});
