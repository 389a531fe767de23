/**
 * What an event consumer is. Consumers are registered in one list (src/jobs/event-consumers.ts); the queue handler
 * (src/jobs/event-queue.ts) parses each message with the event catalog and calls every consumer that handles its
 * type and has not processed it yet. A consumer is idempotent by writing its effect with `commitOnce`: the effect
 * and the row `processed_events(consumer, event id)` are one D1 batch, so a redelivered event has one effect.
 *
 * @example
 * export const auditTrailConsumer: EventConsumer = {
 *   name: 'audit-trail',
 *   handles: (type) => type.startsWith('order.'),
 *   async consume(env, event, { commitOnce }) {
 *     await commitOnce({ statements: [db.insert(trail).values({ eventId: event.id, type: event.type })] });
 *   },
 * };
 */
import { and, eq } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { processedEvents } from '../db/schema';
import type { Caller } from './caller';
import { type Change, type CommitResults, commit } from './commit';
import { constraintFailure } from './d1-writes';
import type { Database } from './db';
import type { CatalogEvent, EventType } from './event-catalog';
import type { Logger } from './logger';

export type ConsumeContext = {
  /**
   * The consumer as a system caller (its name is the actor) in the event's trace; what it commits publishes its own
   * events like a request's.
   */
  caller: Caller;
  /** The queue run's logger (its lines carry the run id): for a consumer whose work deserves a line of its own. */
  logger: Logger;
  /**
   * Commits `change` (through `commit()`, so with its audit entries and events) together with this consumer's
   * processed mark for the event. Returns the change's results, or null when another delivery of the event
   * already committed: then nothing of `change` was written. A consumer whose effect is outside D1 (a mail) calls
   * it after that effect, with no statements, to mark the event done.
   */
  commitOnce<const S extends readonly BatchItem<'sqlite'>[]>(
    change: Change<S>,
  ): Promise<CommitResults<S> | null>;
};

export type EventConsumer = {
  /** Stable: the key of its processed marks and dead letters. Renaming a consumer re-delivers what is in flight. */
  readonly name: string;
  /**
   * Internal events (src/lib/event-catalog.ts, audience `internal`) reach only consumers that set this; a consumer
   * that forwards events outside (webhooks) must not.
   */
  readonly internal?: boolean;
  handles(type: EventType): boolean;
  /** Throws to be retried (with backoff, then dead-lettered); returns once the event is handled. */
  consume(env: Env, event: CatalogEvent, context: ConsumeContext): Promise<void>;
};

/** A `ConsumeContext['commitOnce']` for one consumer and event. */
export function commitOnceFor(db: Database, caller: Caller, consumer: string, eventId: string) {
  return async function commitOnce<const S extends readonly BatchItem<'sqlite'>[]>(
    change: Change<S>,
  ): Promise<CommitResults<S> | null> {
    // The mark goes first: a second delivery's batch fails on its primary key before any effect is applied.
    const mark = db.insert(processedEvents).values({ consumer, eventId });
    try {
      const [, ...results] = await commit(db, caller, {
        ...change,
        statements: [mark, ...change.statements],
      });
      return results as CommitResults<S>;
    } catch (error) {
      if (constraintFailure(error)?.kind === 'unique' && (await isProcessed(db, consumer, eventId)))
        return null;
      throw error;
    }
  };
}

async function isProcessed(db: Database, consumer: string, eventId: string): Promise<boolean> {
  const row = await db
    .select({ eventId: processedEvents.eventId })
    .from(processedEvents)
    .where(and(eq(processedEvents.consumer, consumer), eq(processedEvents.eventId, eventId)))
    .get();
  return row !== undefined;
}
