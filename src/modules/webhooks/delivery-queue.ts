/**
 * Both ends of the `edgecart-webhook-deliveries` queue (binding WEBHOOK_DELIVERIES). A message says only
 * "attempt delivery X"; the delivery row in D1 holds the body, the attempt count and when the next attempt is
 * due, and a failed attempt sends its message back with `retry({ delaySeconds })`. Messages are handled
 * concurrently and acknowledged one by one, so a slow receiver holds up nobody else's deliveries.
 */
import { z } from 'zod';
import type { Caller } from '../../lib/caller';
import { describeError, type Logger } from '../../lib/logger';
import { attemptDelivery } from './deliver';

export const WEBHOOK_DELIVERY_QUEUE = 'edgecart-webhook-deliveries';
/** Cloudflare Queues take at most 100 messages per sendBatch. */
const SEND_BATCH_SIZE = 100;
/** When handling a message throws (D1 unreachable, a secret that cannot be decrypted), it comes back after this. */
const ERROR_RETRY_SECONDS = 60;

const DeliveryMessageSchema = z.object({ delivery_id: z.string() });
export type DeliveryMessage = z.infer<typeof DeliveryMessageSchema>;

export async function enqueueDeliveries(env: Env, deliveryIds: readonly string[]): Promise<void> {
  for (let i = 0; i < deliveryIds.length; i += SEND_BATCH_SIZE) {
    await env.WEBHOOK_DELIVERIES.sendBatch(
      deliveryIds
        .slice(i, i + SEND_BATCH_SIZE)
        .map((id) => ({ body: { delivery_id: id } satisfies DeliveryMessage })),
    );
  }
}

/**
 * The queue's work for one batch (src/jobs/webhook-deliveries.ts runs it as a job): one attempt per message,
 * then ack, or retry at the time the schedule gives. Answers counts for the job's log line.
 */
export async function deliverMessages(
  env: Env,
  messages: readonly Message[],
  caller: Caller,
  logger: Logger,
): Promise<{ messages: number; retried: number; errors: number }> {
  let retried = 0;
  let errors = 0;
  await Promise.all(
    messages.map(async (message) => {
      const body = DeliveryMessageSchema.safeParse(message.body);
      if (!body.success) {
        logger.error('webhook delivery message is malformed', { message_id: message.id });
        message.ack();
        return;
      }
      try {
        const step = await attemptDelivery(env, caller, body.data.delivery_id);
        if (step.retryInSeconds === undefined) {
          message.ack();
        } else {
          retried += 1;
          message.retry({ delaySeconds: step.retryInSeconds });
        }
      } catch (error) {
        errors += 1;
        logger.error('webhook delivery failed', {
          delivery_id: body.data.delivery_id,
          ...describeError(error),
        });
        message.retry({ delaySeconds: ERROR_RETRY_SECONDS });
      }
    }),
  );
  return { messages: messages.length, retried, errors };
}
