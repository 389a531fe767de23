/**
 * Sends the outbox rows that were not published after their commit: the request's background publish failed, the
 * Worker stopped first, or the write came from a caller without a publisher (a script, a test, `app.request()`).
 * Rows get a grace period first, so a publish still in flight is not raced; then they go in commit order, at most
 * SWEEP_LIMIT per run, so a backlog drains over a few runs instead of one run outgrowing its limits. Run every
 * minute, it bounds how late an event can be to about a minute plus the grace period. A row the event queue cannot
 * carry (over its per-message limit) would be picked first by every run and never sent: it is set aside as a dead
 * letter, logged, and the rows behind it go on.
 */
import { and, asc, isNull, lte, sql } from 'drizzle-orm';
import { outboxEvents } from '../db/schema';
import { createDb } from '../lib/db';
import { publishOutboxRows } from '../lib/outbox';
import { setAsideUnsendableEvent } from '../modules/events/dead-letters';
import { type JobContext, type JobResult, runJob } from './run-job';

export const OUTBOX_SWEEP_JOB = 'outbox-sweep';
/** How old an unpublished row must be before the sweep sends it. */
export const SWEEP_GRACE_MS = 30_000;
/** Rows sent per run: five queue batches of 100. */
export const SWEEP_LIMIT = 500;

export async function sweepOutbox(
  env: Env,
  { caller, logger }: Pick<JobContext, 'caller' | 'logger'>,
): Promise<JobResult> {
  const db = createDb(env.DB);
  // D1's clock on both sides (occurred_at is written with it), so Worker clock skew cannot shorten the grace.
  const rows = await db
    .select()
    .from(outboxEvents)
    .where(
      and(
        isNull(outboxEvents.publishedAt),
        lte(outboxEvents.occurredAt, sql`(unixepoch('subsec') * 1000 - ${SWEEP_GRACE_MS})`),
      ),
    )
    // Events of one commit share occurred_at; rowid keeps the order they were written in.
    .orderBy(asc(outboxEvents.occurredAt), sql`rowid`)
    .limit(SWEEP_LIMIT);
  const unsendable = await publishOutboxRows(env.EVENTS, db, rows);
  for (const row of unsendable) {
    await setAsideUnsendableEvent(db, caller, row);
    logger.error('event too large for the event queue; set aside as a dead letter', {
      event_id: row.id,
      event_type: row.type,
    });
  }
  return {
    published: rows.length - unsendable.length,
    set_aside: unsendable.length,
    backlog: rows.length === SWEEP_LIMIT,
  };
}

export function runOutboxSweepJob(env: Env): Promise<void> {
  return runJob(OUTBOX_SWEEP_JOB, env, (job) => sweepOutbox(job.env, job));
}
