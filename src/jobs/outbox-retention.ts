/**
 * Forgets password reset requests a week after they were made. A reset request raises its event whether or not an
 * account has the address (so the request's work tells nothing), which means the outbox holds addresses anyone
 * typed; once the email consumer has handled one (within its retries, about an hour) it is only kept for support.
 * A request whose mail was given up is also a dead letter, holding the same address: it goes a week after it was
 * given up. Other events name records, not what people typed, and stay.
 */
import { and, eq, inArray, lt, sql } from 'drizzle-orm';
import { deadLetters, outboxEvents } from '../db/schema';
import { createDb } from '../lib/db';
import { type JobResult, runJob } from './run-job';

export const OUTBOX_RETENTION_JOB = 'outbox-retention';
export const RESET_REQUEST_RETENTION_MS = 7 * 86_400_000;
/** Rows deleted per run and table: a backlog drains over a few runs. */
const PRUNE_LIMIT = 500;
const RESET_REQUESTED = 'password_reset.requested';

/** D1's clock a retention period ago, so the Worker's clock cannot shorten it. */
const retentionStart = sql`(unixepoch('subsec') * 1000 - ${RESET_REQUEST_RETENTION_MS})`;

export async function pruneResetRequests(env: Env): Promise<JobResult> {
  const db = createDb(env.DB);
  // A range seek on outbox_events_aggregate_idx (aggregate_type, occurred_at).
  const expired = db
    .select({ id: outboxEvents.id })
    .from(outboxEvents)
    .where(and(eq(outboxEvents.aggregateType, 'password_reset'), lt(outboxEvents.occurredAt, retentionStart)))
    .limit(PRUNE_LIMIT);
  // A range seek on dead_letters_event_type_created_idx (event_type, created_at): only the old reset requests are read.
  const expiredLetters = db
    .select({ id: deadLetters.id })
    .from(deadLetters)
    .where(and(lt(deadLetters.createdAt, retentionStart), eq(deadLetters.eventType, RESET_REQUESTED)))
    .limit(PRUNE_LIMIT);
  const [deleted, deletedLetters] = await db.batch([
    db.delete(outboxEvents).where(inArray(outboxEvents.id, expired)).returning({ id: outboxEvents.id }),
    db.delete(deadLetters).where(inArray(deadLetters.id, expiredLetters)).returning({ id: deadLetters.id }),
  ]);
  return { deleted: deleted.length, dead_letters_deleted: deletedLetters.length };
}

export function runOutboxRetentionJob(env: Env): Promise<void> {
  return runJob(OUTBOX_RETENTION_JOB, env, ({ env: metered }) => pruneResetRequests(metered));
}
