/**
 * The one write path. Every service write is a `Change`: its statements, the audit entries that record it, the
 * domain events it raises, the cache versions it moves and, when the request carried an Idempotency-Key, the
 * response to replay. `commit()` runs all of them as ONE atomic D1 batch, so an audit entry, an event, a version
 * or an idempotency record exists if and only if its change does. Work that cannot be in the batch runs after it
 * as a follow-up that is retried and logged, never thrown: a committed write is never answered with an error.
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
import { getTableColumns, is, SQL, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { auditLog, idempotencyRecords, outboxEvents } from '../db/schema';
import { cacheVersionsMoved } from './cache-versions';
import { type Actor, type Caller, callerLogger } from './caller';
import type { CatalogVersionBump } from './catalog-version-bumps';
import { constraintFailure, runBatch } from './d1-writes';
import type { Database } from './db';
import { newId } from './ids';
import { describeError } from './logger';

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

export type Change<S extends readonly BatchItem<'sqlite'>[] = BatchItem<'sqlite'>[]> = {
  statements: S;
  audit?: AuditRecord | AuditRecord[];
  events?: DomainEvent[];
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

/** A column of `table` and the value to store in it, as D1 stores it (JSON as text, times as epoch ms). */
type Cell = [SQLiteColumn, unknown];

/**
 * An INSERT of one row that, when `guarded`, inserts only if the statement before it changed a row. Written as
 * INSERT ... SELECT so the condition can ride along; columns not given get their schema default.
 */
function insertRow(db: Database, table: SQLiteTable, cells: Cell[], guarded: boolean) {
  const given = new Map(cells);
  const values = Object.values(getTableColumns(table)).map((column) =>
    given.has(column)
      ? sql`${given.get(column)}`
      : is(column.default, SQL)
        ? sql`(${column.default})`
        : sql`${column.default ?? null}`,
  );
  // `changes()` is the row count of the previous INSERT/UPDATE/DELETE in this batch: the conditional statement
  // for the first bookkeeping row, then the bookkeeping row before it, so one unchanged row skips them all.
  const condition = guarded ? sql`changes() > 0` : sql`1`;
  return db.insert(table).select(sql`SELECT ${sql.join(values, sql`, `)} WHERE ${condition}`);
}

function bookkeeping(
  db: Database,
  caller: Caller,
  change: Change<readonly BatchItem<'sqlite'>[]>,
): BatchItem<'sqlite'>[] {
  const guarded = change.conditional === true;
  const audits = change.audit === undefined ? [] : [change.audit].flat();
  const statements: BatchItem<'sqlite'>[] = audits.map((entry) => {
    const actor = entry.actor ?? caller.actor;
    // An audit entry names who did it; a service reached anonymously must say whom it acted for.
    if (actor.type === 'anonymous') throw new Error(`audit entry ${entry.action} needs a known actor`);
    return insertRow(
      db,
      auditLog,
      [
        [auditLog.id, newId('aud')],
        [auditLog.actorType, actor.type],
        [auditLog.actorId, actor.id],
        [auditLog.action, entry.action],
        [auditLog.targetType, entry.targetType],
        [auditLog.targetId, entry.targetId],
        [auditLog.changes, entry.changes === undefined ? null : JSON.stringify(entry.changes)],
        [auditLog.requestId, caller.meta.requestId],
      ],
      guarded,
    );
  });
  for (const event of change.events ?? []) {
    // occurred_at is left to D1's clock at commit, so it orders events against follow-ups that ran after.
    statements.push(
      insertRow(
        db,
        outboxEvents,
        [
          [outboxEvents.id, newId('evt')],
          [outboxEvents.type, event.type],
          [outboxEvents.version, event.version ?? 1],
          [outboxEvents.aggregateType, event.aggregateType],
          [outboxEvents.aggregateId, event.aggregateId],
          [outboxEvents.payload, JSON.stringify(event.payload ?? {})],
          [outboxEvents.actorType, caller.actor.type],
          [outboxEvents.actorId, caller.actor.id],
          [outboxEvents.requestId, caller.meta.requestId],
        ],
        guarded,
      ),
    );
  }
  const record = change.idempotency;
  if (record) {
    statements.push(
      insertRow(
        db,
        idempotencyRecords,
        [
          [idempotencyRecords.scope, record.scope],
          [idempotencyRecords.key, record.key],
          [idempotencyRecords.requestHash, record.requestHash],
          [idempotencyRecords.status, record.status],
          [idempotencyRecords.body, record.body],
          [idempotencyRecords.expiresAt, record.expiresAt.getTime()],
        ],
        guarded,
      ),
    );
  }
  return statements;
}

/** Rows a statement changed: the rows of a `.returning()`, or D1's count for a plain run. */
function changedRows(result: unknown): number {
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
  const versions = change.versions ? [change.versions.statement] : [];
  let results: unknown[];
  try {
    results = await runBatch(db, [...versions, ...change.statements, ...bookkeeping(db, caller, change)]);
  } catch (error) {
    if (change.recheck && constraintFailure(error)) await change.recheck();
    throw error;
  }
  if (change.versions) cacheVersionsMoved();
  const own = results.slice(versions.length, versions.length + change.statements.length);
  const unchanged = change.conditional === true && changedRows(own.at(-1)) === 0;
  if (!unchanged) await runFollowUps(caller, change.afterCommit ?? []);
  return own as CommitResults<S>;
}
