/**
 * Forgets Idempotency-Keys whose time has passed: answers older than their 24 h retention and locks of requests
 * that died before committing. Deletes in bounded rounds through `idempotency_records_expiry_idx`, so one run's
 * cost stays small however many keys expired; what is left over goes in the next minute's run. A row deleted
 * under a slow request that still holds its claim does no harm: its commit inserts the answer again
 * (src/lib/idempotency.ts, completeRecord).
 */
import { deleteExpiredIdempotencyRecords } from '../lib/idempotency';
import { type JobResult, runJob } from './run-job';

export const IDEMPOTENCY_CLEANUP_JOB = 'idempotency-cleanup';

const ROWS_PER_ROUND = 500;
const MAX_ROUNDS = 10;

export async function cleanUpIdempotencyRecords(env: Env, now = Date.now()): Promise<JobResult> {
  let deleted = 0;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const n = await deleteExpiredIdempotencyRecords(env.DB, now, ROWS_PER_ROUND);
    deleted += n;
    if (n < ROWS_PER_ROUND) return { deleted, more: false };
  }
  return { deleted, more: true };
}

export function runIdempotencyCleanupJob(env: Env): Promise<void> {
  return runJob(IDEMPOTENCY_CLEANUP_JOB, env, ({ env: metered }) => cleanUpIdempotencyRecords(metered));
}
