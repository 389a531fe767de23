/**
 * Which handler each queue's batches go to (`[[queues.consumers]]` in wrangler.toml). A batch from a queue with no
 * entry fails loudly, so the platform retries it rather than it being acked unhandled.
 */
import { WEBHOOK_DELIVERY_QUEUE } from '../modules/webhooks/delivery-queue';
import { handleDeadLetterBatch, handleEventBatch } from './event-queue';
import { runWebhookDeliveryBatch } from './webhook-deliveries';

export const QUEUE_HANDLERS: Record<
  string,
  (batch: MessageBatch, env: Env, ctx: ExecutionContext) => Promise<void>
> = {
  'edgecart-events': (batch, env, ctx) => handleEventBatch(batch, env, ctx),
  'edgecart-events-dlq': (batch, env) => handleDeadLetterBatch(batch, env),
  [WEBHOOK_DELIVERY_QUEUE]: (batch, env) => runWebhookDeliveryBatch(batch, env),
};

export async function runQueue(batch: MessageBatch, env: Env, ctx: ExecutionContext): Promise<void> {
  const handler = QUEUE_HANDLERS[batch.queue];
  if (!handler) throw new Error(`No handler for queue "${batch.queue}"`);
  await handler(batch, env, ctx);
}
