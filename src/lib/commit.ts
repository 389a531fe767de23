/**
 * The one write path. Every service write is a `Change`: its statements, the audit entries that record it, the
 * domain events it raises, the cache versions it moves and, when the request carried an Idempotency-Key, the
 * response to replay. `commit()` runs all of them as ONE atomic D1 batch, so an audit entry, an event, a version
 * or an idempotency record exists if and only if its change does. After the batch, the events it wrote go to the
 * caller's publisher, which sends them to the event queue without the caller waiting (src/lib/outbox.ts; the
 * outbox sweep sends what it misses). Work that cannot be in the batch runs after it as a follow-up that is
 * retried and logged, never thrown: a committed write is never answered with an error.
 *
 * @example
 * await commit(db, caller, {
 *   statements: [db.update(products).set(patch).where(eq(products.id, id))],
 *   audit: { action: 'product.update', targetType: 'product', targetId: id, changes },
 *   events: [{ type: 'product.updated', aggregateType: 'product', aggregateId: id }],
 *   recheck: () => checkUpdate(db, id, input),
 *   versions: CatalogVersionBump.product(db, id),
 * });
 */
import { sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { auditLog, outboxEvents } from '../db/schema';
import { cacheVersionsMoved } from './cache-versions';
import { type Actor, type Caller, callerLogger } from './caller';
import type { CatalogVersionBump } from './catalog-version-bumps';
import { constraintFailure, insertRowIf, runBatch } from './d1-writes';
import type { Database } from './db';
import {
  type ComputedDomainEvent,
  computedEvent,
  type DomainEvent,
  validateDomainEvent,
} from './event-catalog';

export type { ComputedDomainEvent, DomainEvent };
export { computedEvent };

import {
  completeRecord,
  type IdempotencyRecord,
  idempotencyKeyInUse,
  isIdempotencyKeyConflict,
  keyNotTakenOver,
} from './idempotency';
import { newId } from './ids';
import { describeError } from './logger';
import type { OutboxRow } from './outbox';

export type AuditRecord = {
  /** Dotted `<target>.<verb>`, e.g. `api_key.create`, `product.update`. */
  action: string;
  targetType: string;
  targetId: string | null;
  /** A summary of what changed, never secrets (hashes, tokens, passwords). */
  changes?: Record<string, unknown>;
  /** Who the entry names when it is not the caller (accepting an invite: the new member, who was nobody yet). */
  actor?: Actor;
};

/** Work after the batch that must not fail the request: retried in place, logged if it still fails. */
export type FollowUp = { name: string; run: () => Promise<unknown> };

export type Change<S extends readonly BatchItem<'sqlite'>[] = BatchItem<'sqlite'>[]> = {
  statements: S;
  audit?: AuditRecord | AuditRecord[];
  events?: DomainEvent[];
  /**
   * The response to replay for the request's Idempotency-Key (src/lib/idempotency.ts), computed before the
   * batch. The batch first checks that no other request has taken the key over (a request that outlived its lock
   * fails whole, with 409 `idempotency_key_in_use`), and completes the record last.
   */
  idempotency?: IdempotencyRecord;
  /**
   * Runs the service's up-front checks again when the batch hits a constraint: a concurrent request won a race
   * the checks could not see, and now that its write is visible they throw the precise 4xx instead of a 500.
   */
  recheck?: () => Promise<void>;
  /**
   * Set when the change's LAST statement is conditional (a delete, a revoke, an update guarded by the state it
   * read) and a concurrent request may already have made it. If it changes no row, nothing else is written: no
   * audit entry, no event, no idempotency record, and no follow-up runs. The service sees the empty result and
   * answers with the state it finds (404, or the record as the other request left it).
   */
  conditional?: boolean;
  /**
   * The edge-cache versions a catalog write moves (src/lib/catalog-version-bumps.ts). Run first in the batch, so
   * it sees the catalog as it was before the change (old handles, members a delete is about to cascade away).
   */
  versions?: CatalogVersionBump;
  afterCommit?: FollowUp[];
};

const FOLLOW_UP_ATTEMPTS = 3;

// `changes()` is the row count of the previous INSERT/UPDATE/DELETE in this batch: the conditional statement for
// the first bookkeeping row, then the bookkeeping row before it, so one unchanged row skips them all.
const CHANGED = sql`changes() > 0`;
const ALWAYS = sql`1`;

function bookkeeping(
  db: Database,
  caller: Caller,
  change: Change<readonly BatchItem<'sqlite'>[]>,
): { statements: BatchItem<'sqlite'>[]; events: { from: number; to: number } } {
  const guarded = change.conditional === true;
  const condition = guarded ? CHANGED : ALWAYS;
  const audits = change.audit === undefined ? [] : [change.audit].flat();
  const statements: BatchItem<'sqlite'>[] = audits.map((entry) => {
    const actor = entry.actor ?? caller.actor;
    // An audit entry names who did it; a service reached anonymously must say whom it acted for.
    if (actor.type === 'anonymous') throw new Error(`audit entry ${entry.action} needs a known actor`);
    return insertRowIf(
      db,
      auditLog,
      {
        id: newId('aud'),
        actorType: actor.type,
        actorId: actor.id,
        action: entry.action,
        targetType: entry.targetType,
        targetId: entry.targetId,
        changes: entry.changes ?? null,
        requestId: caller.meta.requestId,
      },
      condition,
    );
  });
  const eventsFrom = statements.length;
  for (const event of change.events ?? []) {
    // Validated before anything is written: a payload its consumers could not read is a bug, not an event.
    const { version, data } = validateDomainEvent(event);
    // occurred_at is left to D1's clock at commit, so it orders events against follow-ups that ran after. The
    // inserted row comes back, so the publisher sends exactly what the sweep would read.
    statements.push(
      insertRowIf(
        db,
        outboxEvents,
        {
          id: newId('evt'),
          type: event.type,
          version,
          aggregateType: event.aggregateType,
          aggregateId: event.aggregateId,
          payload: data,
          actorType: caller.actor.type,
          actorId: caller.actor.id,
          requestId: caller.meta.requestId,
          traceparent: caller.meta.traceparent,
        },
        condition,
      ).returning(),
    );
  }
  const events = { from: eventsFrom, to: statements.length };
  if (change.idempotency) statements.push(completeRecord(db, change.idempotency, condition));
  return { statements, events };
}

/** Rows a statement changed: the rows of a `.returning()`, or D1's count for a plain run. */
export function changedRows(result: unknown): number {
  if (Array.isArray(result)) return result.length;
  const changes = (result as { meta?: { changes?: unknown } } | undefined)?.meta?.changes;
  return typeof changes === 'number' ? changes : 0;
}

async function runFollowUps(caller: Caller, followUps: FollowUp[]): Promise<void> {
  for (const followUp of followUps) {
    for (let attempt = 1; attempt <= FOLLOW_UP_ATTEMPTS; attempt++) {
      try {
        await followUp.run();
        break;
      } catch (error) {
        if (attempt === FOLLOW_UP_ATTEMPTS) {
          callerLogger(caller).error('follow-up failed after commit', {
            follow_up: followUp.name,
            attempts: attempt,
            ...describeError(error),
          });
        }
      }
    }
  }
}

/** What each of a change's statements returned, typed per statement (rows for a `.returning()`). */
export type CommitResults<S extends readonly BatchItem<'sqlite'>[]> = {
  -readonly [K in keyof S]: Awaited<S[K]>;
};

/**
 * Commits `change` atomically and returns the results of its own statements, in order (e.g. the rows of a
 * `.returning()`). Throws only before or during the batch; once it has committed, nothing here throws.
 */
export async function commit<const S extends readonly BatchItem<'sqlite'>[]>(
  db: Database,
  caller: Caller,
  change: Change<S>,
): Promise<CommitResults<S>> {
  // The key guard and the version bump lead the batch; the change's own statements follow them.
  const lead = [
    ...(change.idempotency ? [keyNotTakenOver(db, change.idempotency)] : []),
    ...(change.versions ? [change.versions.statement] : []),
  ];
  const extra = bookkeeping(db, caller, change);
  let results: unknown[];
  try {
    results = await runBatch(db, [...lead, ...change.statements, ...extra.statements]);
  } catch (error) {
    if (isIdempotencyKeyConflict(error)) throw idempotencyKeyInUse();
    if (change.recheck && constraintFailure(error)) await change.recheck();
    throw error;
  }
  if (change.versions) cacheVersionsMoved();
  const ownFrom = lead.length;
  const ownTo = ownFrom + change.statements.length;
  const own = results.slice(ownFrom, ownTo);
  const unchanged = change.conditional === true && changedRows(own.at(-1)) === 0;
  if (!unchanged) {
    // A guarded insert that did not run returned no row, so only events that were written are published.
    const events = results.slice(ownTo + extra.events.from, ownTo + extra.events.to) as OutboxRow[][];
    caller.publisher?.publish(events.flat());
    await runFollowUps(caller, change.afterCommit ?? []);
  }
  return own as CommitResults<S>;
}
