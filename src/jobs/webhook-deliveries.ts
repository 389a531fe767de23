/**
 * The webhook delivery work that runs outside a request: each batch of the delivery queue, and the
 * every-minute sweep that queues again the deliveries whose message was lost (src/modules/webhooks).
 */
import { deliverMessages } from '../modules/webhooks/delivery-queue';
import { requeueOverdueDeliveries } from '../modules/webhooks/sweep';
import { runJob } from './run-job';

export function runWebhookDeliveryBatch(batch: MessageBatch, env: Env): Promise<void> {
  return runJob('webhook-deliveries', env, ({ caller, logger, env: metered }) =>
    deliverMessages(metered, batch.messages, caller, logger),
  );
}

export function runWebhookDeliverySweep(env: Env): Promise<void> {
  return runJob('webhook-delivery-sweep', env, ({ caller, env: metered }) =>
    requeueOverdueDeliveries(metered, caller),
  );
}
