/**
 * What every write carries besides its own rows (src/lib/commit.ts): the domain events it raises, kept in an
 * outbox until the event backbone publishes them, and the idempotency record of the request that caused it.
 * Both are written in the same D1 batch as the change, so neither can exist without it or be lost after it.
 */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const outboxEvents = sqliteTable(
  'outbox_events',
  {
    id: text('id').primaryKey(),
    /** Dotted `<aggregate>.<past tense>`, e.g. `product.updated`, `customer.deleted`. */
    type: text('type').notNull(),
    /** Schema version of `payload` for this type. */
    version: integer('version').notNull().default(1),
    aggregateType: text('aggregate_type').notNull(),
    aggregateId: text('aggregate_id').notNull(),
    payload: text('payload', { mode: 'json' }).notNull().$type<Record<string, unknown>>(),
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id').notNull(),
    requestId: text('request_id'),
    /** W3C traceparent of the request (or consumer run) that caused the change; the envelope carries it on. */
    traceparent: text('traceparent'),
    occurredAt: integer('occurred_at', { mode: 'timestamp_ms' })
      .notNull()
      .default(sql`(unixepoch('subsec') * 1000)`),
    /** Set once the event is handed to the queue; null rows are what a sweep sends. */
    publishedAt: integer('published_at', { mode: 'timestamp_ms' }),
  },
  (t) => [
    index('outbox_events_unpublished_idx').on(t.publishedAt, t.occurredAt),
    // The outbox-retention job finds old events of one aggregate type (password resets) through it.
    index('outbox_events_aggregate_idx').on(t.aggregateType, t.occurredAt),
    // Webhook replay reads the events of a time range.
    index('outbox_events_occurred_idx').on(t.occurredAt),
  ],
);

export const idempotencyRecords = sqliteTable(
  'idempotency_records',
  {
    /** Who sent the key (e.g. `customer:cus_...`, `cart:...`, `secret_key:key_...`): keys are per caller. */
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    /** SHA-256 of method, path and body: the same key with another request is refused, not replayed. */
    requestHash: text('request_hash').notNull(),
    /**
     * The request that holds or held the key (random per request). Its commit writes the final record only while
     * the key is still its own, so a request that outlived its lock cannot overwrite the one that took over.
     */
    claimId: text('claim_id').notNull().default(''),
    /** 0 while the first request runs (a lock until `expires_at`), then the HTTP status of its response. */
    status: integer('status').notNull(),
    /** The response body to replay (JSON text; empty while in progress and for a 204). */
    body: text('body').notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' })
      .notNull()
      .default(sql`(unixepoch('subsec') * 1000)`),
    /** In progress: when the lock lapses (a Worker that died frees the key). Done: when the key is forgotten. */
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key] }), index('idempotency_records_expiry_idx').on(t.expiresAt)],
);
