/**
 * The (created_at, id) keyset most admin listings sort by, newest first: the shape its cursors must have (a
 * forged time a Date cannot hold is a 422, never a 500) and the filter for the rows after one.
 */
import { type SQL, sql } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';

/** The key shape of a (created_at, id) cursor, for decodeCursor. */
export const TIME_ID_KEY = ['time', 'text'] as const;

/**
 * Rows after `after` in `ORDER BY created_at DESC, id DESC`; undefined (no filter) on the first page. One row-value
 * comparison, which SQLite reads as a range of an index ending in (created_at, id): spelled as
 * `created_at < t OR (created_at = t AND id < x)`, a lower bound on created_at as well (orders from a date) made
 * SQLite read both arms of the OR in full and sort them.
 *
 * @example .where(and(eq(auditLog.action, action), olderThan(auditLog.createdAt, auditLog.id, after)))
 */
export function olderThan(
  createdAt: SQLiteColumn,
  id: SQLiteColumn,
  after: [number, string] | null,
): SQL | undefined {
  if (!after) return undefined;
  return sql`(${createdAt}, ${id}) < (${sql.param(new Date(after[0]), createdAt)}, ${sql.param(after[1], id)})`;
}
