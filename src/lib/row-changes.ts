/**
 * What an audit entry of a catalog or settings write says changed: the top-level fields the caller sent, and
 * `{ column: { from, to } }` over the target's own table row, keyed by SQL column name and holding the values
 * as stored (booleans 0/1, JSON as text). The service knows the row before the write (from the read its checks
 * do) and the patch it applies, so it computes the row after without reading it back.
 *
 * @example
 * auditChanges(products, ['handle'], before, applyPatch(before, { handle: 'new' }))
 * // { fields: ['handle'], row: { handle: { from: 'old', to: 'new' } } }
 */
import { getTableColumns } from 'drizzle-orm';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';

export type FieldChange = { from: unknown; to: unknown };

/** Bookkeeping columns that change on every write and say nothing about it. */
const IGNORED = new Set(['created_at', 'updated_at']);

/** The row as D1 stores it: column name -> driver value. */
function stored<T extends SQLiteTable>(table: T, row: T['$inferSelect'] | null): Record<string, unknown> {
  if (!row) return {};
  const values: Record<string, unknown> = {};
  for (const [field, column] of Object.entries(getTableColumns(table))) {
    const value: unknown = (row as Record<string, unknown>)[field];
    values[column.name] = value === null || value === undefined ? null : column.mapToDriverValue(value);
  }
  return values;
}

/**
 * `{ column: { from, to } }` for every column whose stored value differs between `before` and `after`; `before`
 * is null on create, `after` null on delete.
 */
export function rowChanges<T extends SQLiteTable>(
  table: T,
  before: T['$inferSelect'] | null,
  after: T['$inferSelect'] | null,
): Record<string, FieldChange> {
  const from = stored(table, before);
  const to = stored(table, after);
  const changes: Record<string, FieldChange> = {};
  for (const column of new Set([...Object.keys(from), ...Object.keys(to)])) {
    if (IGNORED.has(column)) continue;
    const a = from[column] ?? null;
    const b = to[column] ?? null;
    if (JSON.stringify(a) !== JSON.stringify(b)) changes[column] = { from: a, to: b };
  }
  return changes;
}

/** The `changes` of a catalog audit entry: the fields sent, in the order sent, and the row's changes. */
export function auditChanges<T extends SQLiteTable>(
  table: T,
  fields: string[],
  before: T['$inferSelect'] | null,
  after: T['$inferSelect'] | null,
): { fields: string[]; row: Record<string, FieldChange> } {
  return { fields, row: rowChanges(table, before, after) };
}

/** `{ field: { from, to } }` for the fields of `after` (keyed as in `after`) whose value differs from `before`. */
export function changesOf<T extends Record<string, unknown>>(
  before: T,
  after: Partial<T>,
): Record<string, FieldChange> {
  const changes: Record<string, FieldChange> = {};
  for (const [field, value] of Object.entries(after)) {
    if (value !== undefined && JSON.stringify(before[field]) !== JSON.stringify(value)) {
      changes[field] = { from: before[field] ?? null, to: value };
    }
  }
  return changes;
}

/** `row` with the defined values of `patch` applied, as an UPDATE that skips undefined values leaves it. */
export function applyPatch<R extends Record<string, unknown>>(row: R, patch: Partial<R>): R {
  const next = { ...row };
  for (const [key, value] of Object.entries(patch) as [keyof R, R[keyof R] | undefined][]) {
    if (value !== undefined) next[key] = value;
  }
  return next;
}
