/** Deletes webhook deliveries a month after they finished, with their attempts (src/modules/webhooks/retention.ts). */
import { pruneFinishedDeliveries } from '../modules/webhooks/retention';
import { runJob } from './run-job';

export const WEBHOOK_DELIVERY_RETENTION_JOB = 'webhook-delivery-retention';

export function runWebhookDeliveryRetentionJob(env: Env): Promise<void> {
  return runJob(WEBHOOK_DELIVERY_RETENTION_JOB, env, ({ env: metered }) => pruneFinishedDeliveries(metered));
}
