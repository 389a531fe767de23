/**
 * The one write path. Every service write is a `Change`: its statements, the audit entries that record it, the
 * domain events it raises and, when the request carried an Idempotency-Key, the response to replay. `commit()`
 * runs all of them as ONE atomic D1 batch, so an audit entry, an event or an idempotency record exists if and
 * only if its change does. Work that cannot be in the batch (the catalog version in KV) runs after it as a
 * follow-up that is retried and logged, never thrown: a committed write is never answered with an error, and
 * what a follow-up failed to do is healed by a scheduled job (src/jobs/).
 *
 * @example
 * await commit(db, caller, {
 *   statements: [db.update(products).set(patch).where(eq(products.id, id))],
 *   audit: { action: 'product.update', targetType: 'product', targetId: id, changes },
 *   events: [{ type: 'product.updated', aggregateType: 'product', aggregateId: id }],
 *   recheck: () => checkUpdate(db, id, input),
 *   afterCommit: [catalogVersionBump(env.KV)],
 * });
 */
import type { BatchItem } from 'drizzle-orm/batch';
import { auditLog, idempotencyRecords, outboxEvents } from '../db/schema';
import type { Actor, Caller } from './caller';
import { constraintFailure, runBatch } from './d1-writes';
import type { Database } from './db';
import { newId } from './ids';
import { createLogger, describeError } from './logger';

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

export type DomainEvent = {
  /** Dotted `<aggregate>.<past tense>`, e.g. `product.updated`. */
  type: string;
  aggregateType: string;
  aggregateId: string;
  payload?: Record<string, unknown>;
  version?: number;
};

export type IdempotencyRecord = {
  scope: string;
  key: string;
  requestHash: string;
  status: number;
  body: string;
  expiresAt: Date;
};

/** Work after the batch that must not fail the request: retried in place, logged if it still fails. */
export type FollowUp = { name: string; run: () => Promise<unknown> };

export type Change = {
  statements: BatchItem<'sqlite'>[];
  audit?: AuditRecord | AuditRecord[];
  events?: DomainEvent[];
  idempotency?: IdempotencyRecord;
  /**
   * Runs the service's up-front checks again when the batch hits a constraint: a concurrent request won a race
   * the checks could not see, and now that its write is visible they throw the precise 4xx instead of a 500.
   */
  recheck?: () => Promise<void>;
  afterCommit?: FollowUp[];
};

const FOLLOW_UP_ATTEMPTS = 3;

function bookkeeping(db: Database, caller: Caller, change: Change): BatchItem<'sqlite'>[] {
  const audits = change.audit === undefined ? [] : [change.audit].flat();
  const statements: BatchItem<'sqlite'>[] = audits.map((entry) => {
    const actor = entry.actor ?? caller.actor;
    // An audit entry names who did it; a service reached anonymously must say whom it acted for.
    if (actor.type === 'anonymous') throw new Error(`audit entry ${entry.action} needs a known actor`);
    return db.insert(auditLog).values({
      id: newId('aud'),
      actorType: actor.type,
      actorId: actor.id,
      action: entry.action,
      targetType: entry.targetType,
      targetId: entry.targetId,
      changes: entry.changes ?? null,
      requestId: caller.meta.requestId,
    });
  });
  for (const event of change.events ?? []) {
    // occurred_at is left to D1's clock at commit, so it orders events against follow-ups that ran after.
    statements.push(
      db.insert(outboxEvents).values({
        id: newId('evt'),
        type: event.type,
        version: event.version ?? 1,
        aggregateType: event.aggregateType,
        aggregateId: event.aggregateId,
        payload: event.payload ?? {},
        actorType: caller.actor.type,
        actorId: caller.actor.id,
        requestId: caller.meta.requestId,
      }),
    );
  }
  if (change.idempotency) statements.push(db.insert(idempotencyRecords).values(change.idempotency));
  return statements;
}

async function runFollowUps(caller: Caller, followUps: FollowUp[]): Promise<void> {
  for (const followUp of followUps) {
    for (let attempt = 1; attempt <= FOLLOW_UP_ATTEMPTS; attempt++) {
      try {
        await followUp.run();
        break;
      } catch (error) {
        if (attempt === FOLLOW_UP_ATTEMPTS) {
          createLogger({ request_id: caller.meta.requestId }).error('follow-up failed after commit', {
            follow_up: followUp.name,
            attempts: attempt,
            ...describeError(error),
          });
        }
      }
    }
  }
}

/**
 * Commits `change` atomically and returns the results of its own statements, in order (e.g. the rows of a
 * `.returning()`). Throws only before or during the batch; once it has committed, nothing here throws.
 */
export async function commit(db: Database, caller: Caller, change: Change): Promise<unknown[]> {
  let results: unknown[];
  try {
    results = await runBatch(db, [...change.statements, ...bookkeeping(db, caller, change)]);
  } catch (error) {
    if (change.recheck && constraintFailure(error)) await change.recheck();
    throw error;
  }
  await runFollowUps(caller, change.afterCommit ?? []);
  return results.slice(0, change.statements.length);
}
