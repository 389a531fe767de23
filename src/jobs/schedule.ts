/**
 * Which jobs each cron trigger runs. The expressions must match `[triggers] crons` in wrangler.toml; a trigger
 * with no entry here fails loudly rather than doing nothing.
 */
import { runCartRetentionJob } from './cart-retention';
import { runIdempotencyCleanupJob } from './idempotency-cleanup';
import { runOrderStockJob } from './order-stock';
import { runOutboxRetentionJob } from './outbox-retention';
import { runOutboxSweepJob } from './outbox-sweep';
import { runRefundClaimsJob } from './refund-claims';
import { runStorefrontRebuildJob } from './storefront-rebuild';
import { runWebhookDeliverySweep } from './webhook-deliveries';
import { runWebhookDeliveryRetentionJob } from './webhook-delivery-retention';

export const CRON_JOBS: Record<string, ((env: Env) => Promise<void>)[]> = {
  '* * * * *': [
    runOutboxSweepJob,
    runOutboxRetentionJob,
    runIdempotencyCleanupJob,
    runWebhookDeliverySweep,
    runOrderStockJob,
    runWebhookDeliveryRetentionJob,
    runCartRetentionJob,
    runStorefrontRebuildJob,
    runRefundClaimsJob,
  ],
};

export async function runScheduled(controller: ScheduledController, env: Env): Promise<void> {
  const jobs = CRON_JOBS[controller.cron];
  if (!jobs) throw new Error(`No jobs are scheduled for cron "${controller.cron}"`);
  // Each job logs its own outcome; one failing job does not keep the others from running.
  const results = await Promise.allSettled(jobs.map((job) => job(env)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
