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

/** A queue accepts at most 100 messages per sendBatch; D1 binds at most 100 values per statement. */
const CHUNK = 100;

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

/**
 * Sends the rows' envelopes to `queue`, in the given order, and stamps them published (with D1's clock, like
 * `occurred_at`). A row is stamped only after the queue accepted it; a failure leaves the rest for the sweep.
 */
export async function publishOutboxRows(queue: Queue, db: Database, rows: OutboxRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    await queue.sendBatch(chunk.map((row) => ({ body: envelopeOf(row), contentType: 'json' as const })));
    await db
      .update(outboxEvents)
      .set({ publishedAt: sql`(unixepoch('subsec') * 1000)` })
      .where(
        and(
          inArray(
            outboxEvents.id,
            chunk.map((row) => row.id),
          ),
          isNull(outboxEvents.publishedAt),
        ),
      );
  }
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
