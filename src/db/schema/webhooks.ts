/**
 * Webhooks: the endpoints staff register, one delivery per (endpoint, event) and one attempt row per HTTP
 * request made for it. Signing secrets are stored encrypted (`v1.<key id>.<iv>.<ciphertext>`,
 * src/lib/encryption.ts): unlike an API key, a signing secret must be readable to sign with, so it cannot be
 * hashed. A delivery keeps the exact body it sends, so every attempt, redelivery and signature covers the same
 * bytes.
 */
import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

const now = sql`(unixepoch('subsec') * 1000)`;

/** Why an endpoint receives nothing: staff turned it off, it answered 410 Gone, or it failed for days. */
export const WEBHOOK_DISABLED_REASONS = ['manual', 'gone', 'failing'] as const;

export const webhookEndpoints = sqliteTable(
  'webhook_endpoints',
  {
    id: text('id').primaryKey(),
    url: text('url').notNull(),
    description: text('description'),
    /** Event type names and wildcard patterns (`order.*`, `*`) this endpoint receives. */
    eventTypes: text('event_types', { mode: 'json' }).notNull().$type<string[]>(),
    enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
    disabledReason: text('disabled_reason', { enum: WEBHOOK_DISABLED_REASONS }),
    disabledAt: integer('disabled_at', { mode: 'timestamp_ms' }),
    /** `whsec_...`, encrypted. */
    secretEncrypted: text('secret_encrypted').notNull(),
    /** The secret before the last rotation, still signing (beside the new one) until it expires. */
    previousSecretEncrypted: text('previous_secret_encrypted'),
    previousSecretExpiresAt: integer('previous_secret_expires_at', { mode: 'timestamp_ms' }),
    /** The first failed attempt since the last successful one; null while the endpoint answers. */
    failingSince: integer('failing_since', { mode: 'timestamp_ms' }),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull().default(now),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull().default(now),
  },
  (t) => [index('webhook_endpoints_created_idx').on(t.createdAt, t.id)],
);

/** What made a delivery: an event from the outbox, a test ping, a manual redelivery or a replayed range. */
export const WEBHOOK_DELIVERY_ORIGINS = ['event', 'test', 'redelivery', 'replay'] as const;
/** `canceled`: the endpoint was disabled before the delivery succeeded. */
export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'succeeded', 'failed', 'canceled'] as const;

export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    endpointId: text('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    /** The envelope's id: the `webhook-id` header, the same on every attempt and redelivery of the event. */
    eventId: text('event_id').notNull(),
    eventType: text('event_type').notNull(),
    origin: text('origin', { enum: WEBHOOK_DELIVERY_ORIGINS }).notNull(),
    /** The request body: the event envelope as JSON, byte for byte what is signed. */
    payload: text('payload').notNull(),
    status: text('status', { enum: WEBHOOK_DELIVERY_STATUSES }).notNull().default('pending'),
    attemptCount: integer('attempt_count').notNull().default(0),
    /** When the next attempt is due; null once the delivery is finished. */
    nextAttemptAt: integer('next_attempt_at', { mode: 'timestamp_ms' }),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull().default(now),
    completedAt: integer('completed_at', { mode: 'timestamp_ms' }),
  },
  (t) => [
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.createdAt, t.id),
    // An endpoint's deliveries of one status, newest first (src/modules/webhooks/read.ts).
    index('webhook_deliveries_endpoint_status_idx').on(t.endpointId, t.status, t.createdAt, t.id),
    // The sweep looks for pending deliveries whose message was lost (next attempt long overdue).
    index('webhook_deliveries_due_idx').on(t.status, t.nextAttemptAt),
    // Retention deletes finished deliveries by age (src/modules/webhooks/retention.ts); pending ones have no
    // completion time and stay out of the index.
    index('webhook_deliveries_completed_idx').on(t.completedAt).where(sql`completed_at IS NOT NULL`),
    // An event reaches an endpoint once however often the event queue hands it over; redeliveries and
    // replays are deliberate repeats and are not limited.
    uniqueIndex('webhook_deliveries_event_uq').on(t.eventId, t.endpointId).where(sql`origin = 'event'`),
  ],
);

/** Why an attempt got no HTTP status to judge by. */
export const WEBHOOK_ATTEMPT_ERRORS = [
  'timeout',
  'network_error',
  'redirect_refused',
  'url_refused',
] as const;

export const webhookDeliveryAttempts = sqliteTable(
  'webhook_delivery_attempts',
  {
    id: text('id').primaryKey(),
    deliveryId: text('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    /** 1 for the first request of the delivery. */
    attempt: integer('attempt').notNull(),
    attemptedAt: integer('attempted_at', { mode: 'timestamp_ms' }).notNull(),
    latencyMs: integer('latency_ms').notNull(),
    responseStatus: integer('response_status'),
    /** The first 1 KB of the response body, as the receiver sent it. */
    responseExcerpt: text('response_excerpt'),
    error: text('error', { enum: WEBHOOK_ATTEMPT_ERRORS }),
  },
  (t) => [index('webhook_delivery_attempts_delivery_idx').on(t.deliveryId, t.attempt)],
);
