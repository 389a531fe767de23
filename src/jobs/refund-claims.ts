/**
 * Records on their orders the edgecart refunds no request claimed (src/modules/payments/refund-claims.ts): a staff
 * refund whose Worker died past the provider and was not retried still reaches its order, with its event, and a
 * cancel's refund completes the cancel, about ten minutes after the provider's report. At most BATCH a run; what
 * is left goes in the next minute's.
 */
import { createDb } from '../lib/db';
import { recordUnclaimedRefund } from '../modules/orders/settlement';
import { claimLeftRefunds } from '../modules/payments/refund-claims';
import { type JobContext, type JobResult, runJob } from './run-job';

export const REFUND_CLAIMS_JOB = 'refund-claims';

const BATCH = 50;

export function claimRefunds(job: JobContext, now = Date.now()): Promise<JobResult> {
  return claimLeftRefunds(createDb(job.env.DB), job.env, job.caller, {
    now,
    limit: BATCH,
    onRefundUnclaimed: recordUnclaimedRefund,
  });
}

export function runRefundClaimsJob(env: Env): Promise<void> {
  return runJob(REFUND_CLAIMS_JOB, env, (job) => claimRefunds(job));
}
