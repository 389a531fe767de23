/**
 * From one event to its webhook deliveries: one delivery per enabled endpoint subscribed to the event's type,
 * committed, then handed to the delivery queue. The event backbone calls `fanOutEvent` from its consumer for
 * every event it takes off the event queue; it may hand the same event over more than once, and each endpoint
 * still gets one delivery (a unique index on endpoint and event).
 */
import { and, eq, sql } from 'drizzle-orm';
import { webhookDeliveries, webhookEndpoints } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { commit } from '../../lib/commit';
import type { Database } from '../../lib/db';
import type { EventEnvelope } from '../../lib/event-envelope';
import { newId } from '../../lib/ids';
import { enqueueDeliveries } from './delivery-queue';
import { subscribesTo } from './event-types';

type DeliveryRow = typeof webhookDeliveries.$inferSelect;

/** A new pending delivery of an event whose body is `payload` (every attempt signs these bytes), due now. */
export function newDeliveryRow(
  endpointId: string,
  event: Pick<EventEnvelope, 'id' | 'type'>,
  payload: string,
  origin: DeliveryRow['origin'],
  now: Date,
): DeliveryRow {
  return {
    id: newId('whd'),
    endpointId,
    eventId: event.id,
    eventType: event.type,
    origin,
    payload,
    status: 'pending',
    attemptCount: 0,
    nextAttemptAt: now,
    createdAt: now,
    completedAt: null,
  };
}

/**
 * One INSERT per delivery: a statement may hold at most 100 KB, and a multi-row insert repeats the payload.
 * With `skipDuplicates`, an event an endpoint already has a delivery of inserts nothing.
 */
export function insertDeliveries(db: Database, rows: DeliveryRow[], skipDuplicates = false) {
  return rows.map((row) => {
    const insert = db.insert(webhookDeliveries).values(row);
    return skipDuplicates ? insert.onConflictDoNothing() : insert;
  });
}

/**
 * Creates and queues the deliveries of one event; answers how many were queued. Throws if the queue refuses
 * them, so the caller's message is retried: the rows are committed by then, and the retry queues them again.
 */
export async function fanOutEvent(
  db: Database,
  env: Env,
  caller: Caller,
  envelope: EventEnvelope,
): Promise<number> {
  const endpoints = (
    await db
      .select({ id: webhookEndpoints.id, eventTypes: webhookEndpoints.eventTypes })
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.enabled, true))
  ).filter((endpoint) => subscribesTo(endpoint.eventTypes, envelope.type));
  if (endpoints.length === 0) return 0;
  const payload = JSON.stringify(envelope);
  const now = new Date();
  const rows = endpoints.map((endpoint) => newDeliveryRow(endpoint.id, envelope, payload, 'event', now));
  await commit(db, caller, { statements: insertDeliveries(db, rows, true) });
  // Deliveries an earlier hand-over of this event committed but could not queue are queued now. Not yet
  // attempted: once one has been, its own message has it in hand.
  const unsent = await db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.eventId, envelope.id),
        // Written out, not bound, so SQLite can use the partial unique index (event_id, ...) WHERE origin = 'event'.
        sql`${webhookDeliveries.origin} = 'event'`,
        eq(webhookDeliveries.status, 'pending'),
        eq(webhookDeliveries.attemptCount, 0),
      ),
    );
  await enqueueDeliveries(
    env,
    unsent.map((row) => row.id),
  );
  return unsent.length;
}
