/**
 * Which consumer handles each queue. The names must match `[[queues.consumers]]` in wrangler.toml; a batch from
 * a queue with no entry here fails loudly (and is retried) rather than being acknowledged unread.
 */
import { WEBHOOK_DELIVERY_QUEUE } from '../modules/webhooks/delivery-queue';
import { runWebhookDeliveryBatch } from './webhook-deliveries';

export const QUEUE_CONSUMERS: Record<string, (batch: MessageBatch, env: Env) => Promise<void>> = {
  [WEBHOOK_DELIVERY_QUEUE]: runWebhookDeliveryBatch,
};

export async function runQueue(batch: MessageBatch, env: Env): Promise<void> {
  const consumer = QUEUE_CONSUMERS[batch.queue];
  if (!consumer) throw new Error(`No consumer handles queue "${batch.queue}"`);
  await consumer(batch, env);
}
