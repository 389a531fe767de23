/**
 * From the outbox to the event queue. `commit()` writes each event as an `outbox_events` row in the change's own
 * batch; publishing sends the rows' envelopes to the `EVENTS` queue and then stamps `published_at`. Two paths do it:
 * right after the commit, in the background of the request that made it (`queuePublisher`, through the caller), and
 * the outbox sweep (src/jobs/outbox-sweep.ts) for whatever that missed. Both may send a row (a sweep racing a slow
 * publish, a stamp lost after a send), so delivery is at least once and consumers deduplicate on the event id.
 */
import { and, inArray, isNull, sql } from 'drizzle-orm';
import { outboxEvents } from '../db/schema';
import { createDb, type Database } from './db';
import type { EventEnvelope } from './event-envelope';
import { describeError, type Logger } from './logger';

export type OutboxRow = typeof outboxEvents.$inferSelect;

/**
 * Cloudflare Queues' limits (developers.cloudflare.com/queues/platform/limits/, 1 KB = 1,000 bytes): at most 100
 * messages and 256 KB per sendBatch, and 128 KB per message, each message counting its body plus up to about 100
 * bytes of metadata. Local queues take 288 KB per batch, so a test cannot catch an overfull batch: these can.
 * 100 is also D1's limit of bound values per statement, which the stamp's id list must respect.
 */
const MAX_BATCH_MESSAGES = 100;
const MAX_BATCH_BYTES = 256_000;
export const MAX_MESSAGE_BYTES = 128_000;
const MESSAGE_METADATA_BYTES = 100;

/** What a JSON message counts against the queue's limits. */
export function queueMessageBytes(body: unknown): number {
  return new TextEncoder().encode(JSON.stringify(body)).byteLength + MESSAGE_METADATA_BYTES;
}

export function envelopeOf(row: OutboxRow): EventEnvelope {
  return {
    id: row.id,
    type: row.type,
    version: row.version,
    occurred_at: row.occurredAt.toISOString(),
    aggregate: { type: row.aggregateType, id: row.aggregateId },
    traceparent: row.traceparent,
    data: row.payload,
  };
}

type Message = { row: OutboxRow; body: EventEnvelope; bytes: number };

/** Splits messages, in order, into runs that one sendBatch accepts (each message is within MAX_MESSAGE_BYTES). */
function sendBatches(messages: Message[]): Message[][] {
  const batches: Message[][] = [];
  let batch: Message[] = [];
  let bytes = 0;
  for (const message of messages) {
    if (batch.length === MAX_BATCH_MESSAGES || bytes + message.bytes > MAX_BATCH_BYTES) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(message);
    bytes += message.bytes;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** Stamps rows published, with D1's clock like `occurred_at`; a row stamped already keeps its first stamp. */
export function markPublished(db: Database, ids: string[]) {
  return db
    .update(outboxEvents)
    .set({ publishedAt: sql`(unixepoch('subsec') * 1000)` })
    .where(and(inArray(outboxEvents.id, ids), isNull(outboxEvents.publishedAt)));
}

/**
 * Sends the rows' envelopes to `queue`, in the given order, and stamps them published. A row is stamped only after
 * the queue accepted it; a failure leaves the rest for the sweep. A row over the queue's message limit is neither
 * sent nor stamped: it is answered, for the sweep to set aside (src/jobs/outbox-sweep.ts), and the rows after it go on.
 */
export async function publishOutboxRows(queue: Queue, db: Database, rows: OutboxRow[]): Promise<OutboxRow[]> {
  const messages = rows.map((row) => {
    const body = envelopeOf(row);
    return { row, body, bytes: queueMessageBytes(body) };
  });
  const sendable = messages.filter((message) => message.bytes <= MAX_MESSAGE_BYTES);
  for (const batch of sendBatches(sendable)) {
    await queue.sendBatch(batch.map((message) => ({ body: message.body, contentType: 'json' as const })));
    await markPublished(
      db,
      batch.map((message) => message.row.id),
    );
  }
  return messages.filter((message) => message.bytes > MAX_MESSAGE_BYTES).map((message) => message.row);
}

/** Publishes a commit's events without the caller waiting for it (see `Caller.publisher`). */
export type EventPublisher = { publish(rows: OutboxRow[]): void };

/**
 * Publishing in the background of a request or a queue batch: `waitUntil` keeps the Worker alive for it after the
 * response. A failure is logged and left to the sweep; it never reaches the caller.
 */
export function queuePublisher(
  bindings: { EVENTS: Queue; DB: D1Database },
  waitUntil: (work: Promise<unknown>) => void,
  logger: Logger,
): EventPublisher {
  return {
    publish(rows) {
      if (rows.length === 0) return;
      waitUntil(
        publishOutboxRows(bindings.EVENTS, createDb(bindings.DB), rows).catch((error: unknown) => {
          logger.warn('events not published; the outbox sweep will send them', {
            events: rows.length,
            ...describeError(error),
          });
        }),
      );
    },
  };
}
