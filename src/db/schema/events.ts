/**
 * The event backbone's own bookkeeping (docs/EVENTS.md): which consumer has handled which event, so a redelivered
 * event has one effect, and the events that exhausted their retries, kept for staff to inspect and replay.
 */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const processedEvents = sqliteTable(
  'processed_events',
  {
    /** The consumer's registered name (`email`, `analytics`, `live`; webhooks dedupe by their own unique index). */
    consumer: text('consumer').notNull(),
    eventId: text('event_id').notNull(),
    processedAt: integer('processed_at', { mode: 'timestamp_ms' })
      .notNull()
      .default(sql`(unixepoch('subsec') * 1000)`),
  },
  // Written in the same batch as the consumer's effect: the primary key makes a second delivery's batch fail whole.
  // Event id first: the queue handler looks up a whole batch's events at once.
  (t) => [primaryKey({ columns: [t.eventId, t.consumer] })],
);

/** Why a consumer gave up on an event, per consumer (one event can fail in several). */
export type DeadLetterFailure = { consumer: string | null; error: string };

export const deadLetters = sqliteTable(
  'dead_letters',
  {
    id: text('id').primaryKey(),
    /** The dead-letter queue's message id: a redelivered dead letter is stored once. */
    messageId: text('message_id').notNull().unique(),
    /** The envelope's id and type when it had them (a malformed message may not). */
    eventId: text('event_id'),
    eventType: text('event_type'),
    /** The message body as received (normally an event envelope): what a replay sends again. */
    envelope: text('envelope', { mode: 'json' }).notNull().$type<unknown>(),
    failures: text('failures', { mode: 'json' }).notNull().$type<DeadLetterFailure[]>(),
    /** Delivery attempts before the event was given up. */
    attempts: integer('attempts').notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' })
      .notNull()
      .default(sql`(unixepoch('subsec') * 1000)`),
    replayCount: integer('replay_count').notNull().default(0),
    lastReplayedAt: integer('last_replayed_at', { mode: 'timestamp_ms' }),
  },
  (t) => [
    index('dead_letters_created_idx').on(t.createdAt, t.id),
    index('dead_letters_event_type_created_idx').on(t.eventType, t.createdAt, t.id),
  ],
);
