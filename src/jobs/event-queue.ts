/**
 * The event queue's handlers. Each message is one event envelope: parsed with the event catalog, then given to every
 * registered consumer that handles its type (internal events only to consumers that say so) and has not processed
 * it yet. Messages are acked one by one: a failing event is retried with exponential backoff without holding back
 * the rest of its batch, and after MAX_DELIVERY_ATTEMPTS it is sent, with each consumer's error, to the dead-letter
 * queue, whose handler stores it for staff (src/modules/events). An envelope no consumer can read (unknown type or
 * version, invalid data) is dead-lettered at once: retrying cannot help it.
 *
 * Messages of a batch are handled concurrently, so events are not processed in order, not even per aggregate:
 * consumers must not depend on it (docs/EVENTS.md).
 */
import { inArray } from 'drizzle-orm';
import { z } from 'zod';
import { type DeadLetterFailure, processedEvents } from '../db/schema';
import { systemCaller } from '../lib/caller';
import { createDb, type Database } from '../lib/db';
import { type CatalogEvent, EVENT_CATALOG, parseCatalogEvent } from '../lib/event-catalog';
import { commitOnceFor, type EventConsumer } from '../lib/event-consumer';
import { describeError } from '../lib/logger';
import { type EventPublisher, queuePublisher } from '../lib/outbox';
import { childTraceparent } from '../lib/trace-context';
import { type DeadLetter, storeDeadLetter } from '../modules/events/dead-letters';
import { EVENT_CONSUMERS } from './event-consumers';
import { type JobContext, runJob } from './run-job';

/** Deliveries of one message before the handler dead-letters it: wrangler.toml's max_retries is this minus one. */
export const MAX_DELIVERY_ATTEMPTS = 10;
const FIRST_RETRY_SECONDS = 10;
const MAX_RETRY_SECONDS = 15 * 60;

/**
 * Seconds before the next delivery after `attempts` failed ones: 10, 20, 40, ... doubling up to 15 minutes, so the
 * nine retries span about 50 minutes (a mail API outage of that length loses nothing; a longer one dead-letters).
 */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), MAX_RETRY_SECONDS);
}

/** What the handler sends to the dead-letter queue: the message as received and why each consumer gave up. */
const DeadLetterMessageSchema = z.object({
  envelope: z.unknown(),
  failures: z.array(z.object({ consumer: z.string().nullable(), error: z.string() })),
  attempts: z.number().int().positive(),
});
export type DeadLetterMessage = z.infer<typeof DeadLetterMessageSchema>;

type Outcome = 'acked' | 'retried' | 'dead_lettered';

/** An error as staff may read it in a dead letter: its type and the driver's reason, never SQL or bound values. */
function failureText(error: unknown): string {
  const { error: type, reason } = describeError(error);
  return reason ? `${type}: ${reason}` : String(type);
}

/** The (consumer, event) pairs of the batch already processed: one query for the whole batch. */
async function processedMarks(db: Database, eventIds: string[]): Promise<Set<string>> {
  if (eventIds.length === 0) return new Set();
  const rows = await db
    .select({ consumer: processedEvents.consumer, eventId: processedEvents.eventId })
    .from(processedEvents)
    .where(inArray(processedEvents.eventId, eventIds));
  return new Set(rows.map((row) => `${row.consumer}:${row.eventId}`));
}

type Delivery = {
  env: Env;
  db: Database;
  job: JobContext;
  publisher: EventPublisher;
  consumers: readonly EventConsumer[];
  processed: Set<string>;
};

/** Runs every due consumer on the event; the failures, one per consumer that threw. */
async function consumeEvent(event: CatalogEvent, delivery: Delivery): Promise<DeadLetterFailure[]> {
  const { env, db, job, publisher, consumers, processed } = delivery;
  const internal = EVENT_CATALOG[event.type].audience === 'internal';
  const due = consumers.filter(
    (consumer) =>
      consumer.handles(event.type) &&
      (!internal || consumer.internal === true) &&
      !processed.has(`${consumer.name}:${event.id}`),
  );
  const failures: DeadLetterFailure[] = [];
  for (const consumer of due) {
    const caller = {
      ...systemCaller(consumer.name, job.runId, childTraceparent(event.traceparent)),
      publisher,
    };
    try {
      await consumer.consume(env, event, {
        caller,
        logger: job.logger,
        commitOnce: commitOnceFor(db, caller, consumer.name, event.id),
      });
    } catch (error) {
      failures.push({ consumer: consumer.name, error: failureText(error) });
      job.logger.error('event consumer failed', {
        consumer: consumer.name,
        event_id: event.id,
        event_type: event.type,
        ...describeError(error),
      });
    }
  }
  return failures;
}

type Parsed = ReturnType<typeof parseCatalogEvent>;

async function deliver(message: Message, parsed: Parsed, delivery: Delivery): Promise<Outcome> {
  const failures =
    'refusal' in parsed
      ? [{ consumer: null, error: `not a catalog event: ${parsed.refusal}` }]
      : await consumeEvent(parsed.event, delivery);
  if (failures.length === 0) {
    message.ack();
    return 'acked';
  }
  if ('event' in parsed && message.attempts < MAX_DELIVERY_ATTEMPTS) {
    message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    return 'retried';
  }
  const letter: DeadLetterMessage = { envelope: message.body, failures, attempts: message.attempts };
  try {
    await delivery.env.EVENTS_DLQ.send(letter, { contentType: 'json' });
  } catch (error) {
    // Past max_retries, the platform moves the message to the dead-letter queue itself (without the errors).
    delivery.job.logger.error('dead-lettering failed', describeError(error));
    message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    return 'retried';
  }
  message.ack();
  return 'dead_lettered';
}

export function handleEventBatch(
  batch: MessageBatch,
  env: Env,
  ctx: ExecutionContext,
  consumers: readonly EventConsumer[] = EVENT_CONSUMERS,
): Promise<void> {
  // The run's metered env throughout, consumers included, so its log line says what the batch cost in D1.
  return runJob('event-queue', env, async (job) => {
    const db = createDb(job.env.DB);
    const parsed = batch.messages.map((message) => parseCatalogEvent(message.body));
    const eventIds = parsed.flatMap((p) => ('event' in p ? [p.event.id] : []));
    const delivery: Delivery = {
      env: job.env,
      db,
      job,
      // Events the consumers raise leave like a request's: after the batch, in waitUntil.
      publisher: queuePublisher(job.env, ctx.waitUntil.bind(ctx), job.logger),
      consumers,
      processed: await processedMarks(db, eventIds),
    };
    const outcomes = await Promise.all(
      batch.messages.map((message, i) => deliver(message, parsed[i] as Parsed, delivery)),
    );
    const count = (outcome: Outcome) => outcomes.filter((o) => o === outcome).length;
    return {
      messages: outcomes.length,
      acked: count('acked'),
      retried: count('retried'),
      dead_lettered: count('dead_lettered'),
    };
  });
}

/** A dead-letter queue message: one the handler sent with its errors, or an event the platform moved after max_retries. */
function deadLetterOf(message: Message): DeadLetter {
  const ours = DeadLetterMessageSchema.safeParse(message.body);
  if (ours.success) return { messageId: message.id, ...ours.data };
  return {
    messageId: message.id,
    envelope: message.body,
    failures: [
      { consumer: null, error: 'retries exhausted; moved to the dead-letter queue by the platform' },
    ],
    attempts: MAX_DELIVERY_ATTEMPTS,
  };
}

export function handleDeadLetterBatch(batch: MessageBatch, env: Env): Promise<void> {
  return runJob('dead-letter-queue', env, async (job) => {
    const db = createDb(job.env.DB);
    let stored = 0;
    for (const message of batch.messages) {
      try {
        await storeDeadLetter(db, job.caller, deadLetterOf(message));
        message.ack();
        stored++;
      } catch (error) {
        job.logger.error('dead letter not stored', describeError(error));
        message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
      }
    }
    return { messages: batch.messages.length, stored };
  });
}
