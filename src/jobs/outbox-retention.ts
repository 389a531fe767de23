/**
 * Forgets password reset requests a week after they were made. A reset request raises its event whether or not an
 * account has the address (so the request's work tells nothing), which means the outbox holds addresses anyone
 * typed; once the email consumer has handled one (within its retries, about an hour) it is only kept for support.
 * Other events name records, not what people typed, and stay.
 */
import { and, eq, inArray, lt, sql } from 'drizzle-orm';
import { outboxEvents } from '../db/schema';
import { createDb } from '../lib/db';
import { type JobResult, runJob } from './run-job';

export const OUTBOX_RETENTION_JOB = 'outbox-retention';
export const RESET_REQUEST_RETENTION_MS = 7 * 86_400_000;
/** Rows deleted per run: a backlog drains over a few runs. */
const PRUNE_LIMIT = 500;

export async function pruneResetRequests(env: Env): Promise<JobResult> {
  const db = createDb(env.DB);
  // A range seek on outbox_events_aggregate_idx (aggregate_type, occurred_at), with D1's clock on both sides.
  const expired = db
    .select({ id: outboxEvents.id })
    .from(outboxEvents)
    .where(
      and(
        eq(outboxEvents.aggregateType, 'password_reset'),
        lt(outboxEvents.occurredAt, sql`(unixepoch('subsec') * 1000 - ${RESET_REQUEST_RETENTION_MS})`),
      ),
    )
    .limit(PRUNE_LIMIT);
  const deleted = await db
    .delete(outboxEvents)
    .where(inArray(outboxEvents.id, expired))
    .returning({ id: outboxEvents.id });
  return { deleted: deleted.length };
}

export function runOutboxRetentionJob(env: Env): Promise<void> {
  return runJob(OUTBOX_RETENTION_JOB, env, ({ env: metered }) => pruneResetRequests(metered));
}
