/**
 * Deliveries staff ask for: a test ping, a redelivery of one delivery, and a replay of the events of a time
 * range from the outbox. Each is committed (with its audit entry) and then queued as a follow-up; a follow-up
 * that fails leaves the delivery pending, and the sweep (src/modules/webhooks/sweep.ts) queues it later.
 * A disabled endpoint receives nothing, these included (409 `webhook_endpoint_disabled`): enable it first.
 */
import { and, asc, eq, gte, inArray, lt } from 'drizzle-orm';
import { outboxEvents, webhookDeliveries, type webhookEndpoints } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { type AuditRecord, commit } from '../../lib/commit';
import { createDb, type Database } from '../../lib/db';
import { AppError, notFound } from '../../lib/errors';
import type { EventEnvelope } from '../../lib/event-envelope';
import { newId } from '../../lib/ids';
import { envelopeOf } from '../../lib/outbox';
import { enqueueDeliveries } from './delivery-queue';
import { PING_EVENT_TYPE, subscribedTypes } from './event-types';
import { insertDeliveries, newDeliveryRow } from './fan-out';
import { findEndpoint } from './read';
import { serializeWebhookDelivery, type WebhookDelivery } from './schemas';

/** Events per replay: one D1 batch holds them with room to spare (one statement per delivery). */
export const MAX_REPLAY_EVENTS = 100;

type EndpointRow = typeof webhookEndpoints.$inferSelect;
type DeliveryRow = typeof webhookDeliveries.$inferSelect;

async function findEnabledEndpoint(db: Database, id: string): Promise<EndpointRow> {
  const endpoint = await findEndpoint(db, id);
  if (!endpoint.enabled) {
    throw new AppError(409, 'webhook_endpoint_disabled', 'The endpoint is disabled; enable it first.');
  }
  return endpoint;
}

/** Commits new deliveries with their audit entry, then queues them. */
async function queueDeliveries(
  env: Env,
  db: Database,
  caller: Caller,
  rows: DeliveryRow[],
  audit: AuditRecord,
): Promise<void> {
  await commit(db, caller, {
    statements: insertDeliveries(db, rows),
    audit,
    afterCommit: [
      {
        name: 'webhook-deliveries-enqueue',
        run: () =>
          enqueueDeliveries(
            env,
            rows.map((row) => row.id),
          ),
      },
    ],
  });
}

export async function sendTestPing(env: Env, caller: Caller, endpointId: string): Promise<WebhookDelivery> {
  const db = createDb(env.DB);
  await findEnabledEndpoint(db, endpointId);
  const now = new Date();
  const ping: EventEnvelope = {
    id: newId('evt'),
    type: PING_EVENT_TYPE,
    version: 1,
    occurred_at: now.toISOString(),
    aggregate: { type: 'webhook_endpoint', id: endpointId },
    traceparent: null,
    data: { endpoint_id: endpointId },
  };
  const row = newDeliveryRow(endpointId, ping, JSON.stringify(ping), 'test', now);
  await queueDeliveries(env, db, caller, [row], {
    action: 'webhook_endpoint.test',
    targetType: 'webhook_endpoint',
    targetId: endpointId,
    changes: { delivery_id: row.id },
  });
  return serializeWebhookDelivery(row, []);
}

/** The same event again, byte for byte and with the same `webhook-id`, as a new delivery with its own attempts. */
export async function redeliver(
  env: Env,
  caller: Caller,
  endpointId: string,
  deliveryId: string,
): Promise<WebhookDelivery> {
  const db = createDb(env.DB);
  await findEnabledEndpoint(db, endpointId);
  const original = await db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.endpointId, endpointId)))
    .get();
  if (!original) throw notFound('The delivery');
  const row = newDeliveryRow(
    endpointId,
    { id: original.eventId, type: original.eventType },
    original.payload,
    'redelivery',
    new Date(),
  );
  await queueDeliveries(env, db, caller, [row], {
    action: 'webhook_endpoint.redeliver',
    targetType: 'webhook_endpoint',
    targetId: endpointId,
    changes: { delivery_id: row.id, redelivery_of: original.id, event_id: original.eventId },
  });
  return serializeWebhookDelivery(row, []);
}

/**
 * Queues again every public event of [from, to) (by when it committed) that the endpoint subscribes to now, in the
 * order they occurred, each as the event queue carried it (`envelopeOf`, its trace context included). A range
 * holding more than MAX_REPLAY_EVENTS is refused whole (422 `replay_range_too_large`), never cut silently; replay
 * it in shorter ranges.
 */
export async function replayRange(
  env: Env,
  caller: Caller,
  endpointId: string,
  range: { from: Date; to: Date },
): Promise<{ queued: number; from: string; to: string }> {
  const db = createDb(env.DB);
  const endpoint = await findEnabledEndpoint(db, endpointId);
  const events = await db
    .select()
    .from(outboxEvents)
    .where(
      and(
        gte(outboxEvents.occurredAt, range.from),
        lt(outboxEvents.occurredAt, range.to),
        // Public types only, by name: internal events never leave edgecart, whatever `*` would match.
        inArray(outboxEvents.type, subscribedTypes(endpoint.eventTypes)),
      ),
    )
    .orderBy(asc(outboxEvents.occurredAt), asc(outboxEvents.id))
    .limit(MAX_REPLAY_EVENTS + 1);
  if (events.length > MAX_REPLAY_EVENTS) {
    throw new AppError(
      422,
      'replay_range_too_large',
      `The range holds more than ${MAX_REPLAY_EVENTS} events for this endpoint; replay shorter ranges.`,
      { errors: [{ pointer: '/body/to', message: `At most ${MAX_REPLAY_EVENTS} events per replay` }] },
    );
  }
  const from = range.from.toISOString();
  const to = range.to.toISOString();
  if (events.length > 0) {
    const now = new Date();
    const rows = events.map((event) => {
      const envelope = envelopeOf(event);
      return newDeliveryRow(endpointId, envelope, JSON.stringify(envelope), 'replay', now);
    });
    await queueDeliveries(env, db, caller, rows, {
      action: 'webhook_endpoint.replay',
      targetType: 'webhook_endpoint',
      targetId: endpointId,
      changes: { from, to, events: rows.length },
    });
  }
  return { queued: events.length, from, to };
}
