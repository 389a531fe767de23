/**
 * Dead letters: events a consumer could not handle within its retries (or that no consumer can ever read), stored by
 * the dead-letter queue's handler (src/jobs/event-queue.ts) so staff can list, inspect and replay them, and events
 * too large for the event queue, set aside by the outbox sweep (src/jobs/outbox-sweep.ts). A replay
 * sends the stored envelope to the event queue again: consumers that already handled it skip it (their processed
 * marks), so only the ones that failed run.
 */
import { eq, sql } from 'drizzle-orm';
import { type DeadLetterFailure, deadLetters } from '../../db/schema';
import type { AdminCaller, Caller } from '../../lib/caller';
import { commit } from '../../lib/commit';
import { createDb, type Database } from '../../lib/db';
import { conflict } from '../../lib/errors';
import { parseCatalogEvent } from '../../lib/event-catalog';
import { EventEnvelopeSchema } from '../../lib/event-envelope';
import { newId } from '../../lib/ids';
import {
  envelopeOf,
  MAX_MESSAGE_BYTES,
  markPublished,
  type OutboxRow,
  queueMessageBytes,
} from '../../lib/outbox';
import { getDeadLetter } from './read';

/** A message of the dead-letter queue, as its handler understood it. */
export type DeadLetter = {
  messageId: string;
  envelope: unknown;
  failures: DeadLetterFailure[];
  attempts: number;
};

/** The insert of a dead letter, once per message id (a redelivered one changes nothing). */
function insertDeadLetter(db: Database, letter: DeadLetter) {
  const envelope = EventEnvelopeSchema.safeParse(letter.envelope);
  return db
    .insert(deadLetters)
    .values({
      id: newId('dlq'),
      messageId: letter.messageId,
      eventId: envelope.success ? envelope.data.id : null,
      eventType: envelope.success ? envelope.data.type : null,
      envelope: letter.envelope,
      failures: letter.failures,
      attempts: letter.attempts,
    })
    .onConflictDoNothing({ target: deadLetters.messageId });
}

/**
 * Stores a dead letter once per dead-letter message. The dead-letter queue's handler calls it; the dead letter is
 * itself the record, so it carries no audit entry.
 */
export async function storeDeadLetter(db: Database, caller: Caller, letter: DeadLetter): Promise<void> {
  await commit(db, caller, { statements: [insertDeadLetter(db, letter)] });
}

/**
 * Sets aside an outbox event the event queue refuses to carry (over its per-message limit; no retry can shrink it):
 * a dead letter, so staff see it, stamped published in the same batch, so the outbox sweep stops picking it up and
 * the events behind it go on. No consumer has seen it, and a replay is refused for the same reason.
 */
export async function setAsideUnsendableEvent(db: Database, caller: Caller, row: OutboxRow): Promise<void> {
  const envelope = envelopeOf(row);
  const letter: DeadLetter = {
    // Not a queue message: the outbox row's id keys it, so a second set-aside of the row stores nothing.
    messageId: `outbox:${row.id}`,
    envelope,
    failures: [{ consumer: null, error: tooLargeForTheQueue(queueMessageBytes(envelope)) }],
    attempts: 0,
  };
  await commit(db, caller, { statements: [insertDeadLetter(db, letter), markPublished(db, [row.id])] });
}

function tooLargeForTheQueue(bytes: number): string {
  return `too large for the event queue: ${bytes} bytes, at most ${MAX_MESSAGE_BYTES}`;
}

/**
 * Sends the dead letter's event to the queue again and records the replay. Only an event the catalog can read and
 * the queue can carry is replayed (409 otherwise: it would come straight back, or not be sent at all). The send
 * comes first: a replay recorded but not sent would tell staff something that did not happen, while one sent twice
 * is harmless.
 */
export async function replayDeadLetter(env: Env, caller: AdminCaller, id: string) {
  const db = createDb(env.DB);
  const letter = await getDeadLetter(db, id);
  const parsed = parseCatalogEvent(letter.envelope);
  if ('refusal' in parsed) {
    throw conflict('event_not_replayable', `No consumer can read this event (${parsed.refusal}).`);
  }
  const bytes = queueMessageBytes(letter.envelope);
  if (bytes > MAX_MESSAGE_BYTES) {
    throw conflict('event_not_replayable', `The event is ${tooLargeForTheQueue(bytes)}.`);
  }
  await env.EVENTS.send(letter.envelope, { contentType: 'json' });
  const [replayed] = await commit(db, caller, {
    statements: [
      db
        .update(deadLetters)
        .set({ replayCount: sql`${deadLetters.replayCount} + 1`, lastReplayedAt: new Date() })
        .where(eq(deadLetters.id, id))
        .returning(),
    ],
    audit: {
      action: 'dead_letter.replay',
      targetType: 'dead_letter',
      targetId: id,
      changes: { event_id: parsed.event.id, event_type: parsed.event.type },
    },
  });
  return replayed[0] ?? letter;
}
