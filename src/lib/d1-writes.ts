/**
 * Writing to D1 safely: atomic batches, inserts chunked under the 100-bound-parameter limit, and reading which
 * constraint a failed statement hit, so a race that slips past a service's up-front check still becomes a
 * precise 4xx instead of a 500 (the re-check in src/lib/commit.ts).
 */
import { and, eq, getTableColumns, inArray, is, ne, SQL, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core';
import type { Database } from './db';

const MAX_BOUND_PARAMS = 100;

export type ConstraintFailure =
  | { kind: 'unique' | 'not_null'; columns: string }
  | { kind: 'foreign_key'; columns: undefined };

/**
 * The constraint a D1 error reports, or undefined for any other error. Only a message that *starts* with the
 * SQLite text counts, so user data echoed in a wrapping error (drizzle's "Failed query: ... params: ...") cannot
 * pose as a constraint failure.
 *
 * @example constraintFailure(err) // { kind: 'unique', columns: 'products.handle' }
 */
export function constraintFailure(error: unknown): ConstraintFailure | undefined {
  for (let current = error; current instanceof Error; current = current.cause) {
    const message = current.message.replace(/^D1_ERROR: /, '');
    const match = /^(UNIQUE|NOT NULL) constraint failed: ([\w.]+(?:, [\w.]+)*)/.exec(message);
    if (match) return { kind: match[1] === 'UNIQUE' ? 'unique' : 'not_null', columns: match[2] ?? '' };
    if (message.startsWith('FOREIGN KEY constraint failed'))
      return { kind: 'foreign_key', columns: undefined };
  }
  return undefined;
}

/**
 * `value` when `condition` holds, else NULL. Written into a NOT NULL column, a condition that does not hold
 * fails the statement with a NOT NULL constraint error and so rolls back the whole batch: the way a batch
 * refuses to commit when something only the database can decide atomically (a limit, a state another request
 * may have just changed) is not so. The change's `recheck` (src/lib/commit.ts) then names the precise 4xx.
 *
 * @example db.update(carts).set({ status: onlyIf(sql`${carts.status} = 'open'`, carts.status) })
 */
export function onlyIf(condition: SQL, value: unknown): SQL {
  return sql`CASE WHEN ${condition} THEN ${value} END`;
}

/**
 * The new `updated_at` (milliseconds) for a row whose `updated_at` is its version, as a guard compares it
 * (`eq(column, as read)`): `now`, or one past the stored value when that is not earlier. A plain `now` would leave
 * the value as read after a write in the same millisecond (another isolate, or the Workers clock, which only
 * advances on I/O), and the guard would pass a change it exists to catch.
 */
export function versionStamp(column: SQLiteColumn, now: Date): SQL {
  return sql`max(${now.getTime()}, ${column} + 1)`;
}

/**
 * Runs statements as one atomic D1 batch: all of them commit, or none. Only `commit()` (src/lib/commit.ts)
 * calls it, so every write also carries its audit entry and events.
 */
export async function runBatch(db: Database, statements: BatchItem<'sqlite'>[]): Promise<unknown[]> {
  const [first, ...rest] = statements;
  return first ? db.batch([first, ...rest]) : [];
}

/**
 * Splits rows for multi-row inserts into `table` so no statement binds more than 100 parameters
 * (drizzle binds a slot for every column of every row).
 */
export function chunkRows<T>(table: SQLiteTable, rows: T[]): T[][] {
  const perStatement = Math.max(1, Math.floor(MAX_BOUND_PARAMS / Object.keys(getTableColumns(table)).length));
  const chunks: T[][] = [];
  for (let i = 0; i < rows.length; i += perStatement) chunks.push(rows.slice(i, i + perStatement));
  return chunks;
}

/**
 * `column IN (...ids)` with the ids bound as one JSON array, so a list of any length binds one parameter: a
 * statement's list that can outgrow D1's 100 bound parameters (a key's descendants) cannot fail the batch.
 */
export function inIdList(column: SQLiteColumn, ids: readonly string[]): SQL {
  return sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`;
}

/** Which of `ids` have no row in `idColumn`'s table. */
export async function missingIds(db: Database, idColumn: SQLiteColumn, ids: string[]): Promise<Set<string>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Set();
  const found = new Set<string>();
  for (let i = 0; i < unique.length; i += MAX_BOUND_PARAMS) {
    const rows = await db
      .select({ id: idColumn })
      .from(idColumn.table)
      .where(inArray(idColumn, unique.slice(i, i + MAX_BOUND_PARAMS)));
    for (const row of rows) found.add(String(row.id));
  }
  return new Set(unique.filter((id) => !found.has(id)));
}

/** Whether another row than `exceptId` already holds `value` in a unique column. */
export async function valueTaken(
  db: Database,
  column: SQLiteColumn,
  value: string,
  idColumn: SQLiteColumn,
  exceptId?: string,
): Promise<boolean> {
  const row = await db
    .select({ id: idColumn })
    .from(column.table)
    .where(exceptId === undefined ? eq(column, value) : and(eq(column, value), ne(idColumn, exceptId)))
    .get();
  return row !== undefined;
}

/**
 * An INSERT of one row that happens only where `condition` holds, written as INSERT ... SELECT ... WHERE so it
 * can ride in a batch behind the statement it depends on. Values are mapped as drizzle maps them (JSON as text,
 * times as epoch ms, booleans as 0/1); columns not given get their schema default.
 *
 * @example insertRowIf(db, orderTransitions, { id, orderId, ... }, sql`changes() > 0`)
 */
export function insertRowIf<T extends SQLiteTable>(
  db: Database,
  table: T,
  row: Partial<T['$inferInsert']>,
  condition: SQL,
) {
  const given = row as Record<string, unknown>;
  const values = Object.entries(getTableColumns(table)).map(([field, column]) => {
    const value = given[field];
    if (value !== undefined) return sql`${value === null ? null : column.mapToDriverValue(value)}`;
    return is(column.default, SQL) ? sql`(${column.default})` : sql`${column.default ?? null}`;
  });
  return db.insert(table).select(sql`SELECT ${sql.join(values, sql`, `)} WHERE ${condition}`);
}
