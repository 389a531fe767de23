/**
 * The (created_at, id) keyset most admin listings sort by, newest first: the shape its cursors must have (a
 * forged time a Date cannot hold is a 422, never a 500) and the filter for the rows after one.
 */
import { and, eq, lt, or, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';

/** The key shape of a (created_at, id) cursor, for decodeCursor. */
export const TIME_ID_KEY = ['time', 'text'] as const;

/**
 * Rows after `after` in `ORDER BY created_at DESC, id DESC`; undefined (no filter) on the first page.
 *
 * @example .where(and(eq(auditLog.action, action), olderThan(auditLog.createdAt, auditLog.id, after)))
 */
export function olderThan(
  createdAt: SQLiteColumn,
  id: SQLiteColumn,
  after: [number, string] | null,
): SQL | undefined {
  if (!after) return undefined;
  const time = new Date(after[0]);
  return or(lt(createdAt, time), and(eq(createdAt, time), lt(id, after[1])));
}
