/**
 * The (created_at, id) keyset most admin listings sort by, newest first: reading it back from a decoded cursor,
 * and the filter for the rows after it. A well-formed cursor of the right sort can still carry forged values;
 * they are client input, so a 422 and never a 500.
 */
import { and, eq, lt, or, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { AppError } from './errors';

export function timeIdKey(key: (string | number)[]): [number, string] {
  const [time, id] = key;
  if (typeof time === 'number' && Number.isSafeInteger(time) && typeof id === 'string') return [time, id];
  throw new AppError(422, 'invalid_cursor', 'The cursor is not valid for this listing.', {
    errors: [
      { pointer: '/query/cursor', message: 'Use the next_cursor of a previous page with the same sort.' },
    ],
  });
}

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
