/**
 * Cursor pagination. A cursor is opaque to clients: base64url of JSON naming the sort it belongs to and the last
 * row's sort key. A cursor that does not decode, or belongs to another sort, is a 422 on `/query/cursor`, never
 * a 500 and never a silently wrong page.
 */
import { z } from '@hono/zod-openapi';
import { gt, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { fromBase64Url, toBase64Url } from './encoding';
import { AppError } from './errors';

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

export const PaginationQuery = {
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_SIZE)
    .default(DEFAULT_PAGE_SIZE)
    .openapi({ description: `Page size, 1-${MAX_PAGE_SIZE}`, example: DEFAULT_PAGE_SIZE }),
  cursor: z
    .string()
    .max(512)
    .optional()
    .openapi({ description: 'Opaque cursor from the previous page’s `next_cursor`' }),
};

export const PageInfoSchema = z
  .object({
    limit: z.number().int(),
    next_cursor: z
      .string()
      .nullable()
      .openapi({ description: 'Pass as `cursor` for the next page; null at the end' }),
  })
  .openapi('PageInfo');

/** A cursor's payload: the sort it was made for and the last row's key values (e.g. [createdAt, id]). */
export type CursorPayload = { sort: string; key: (string | number)[] };

const CursorPayloadSchema = z.object({
  sort: z.string(),
  key: z.array(z.union([z.string(), z.number()])).min(1),
});

export function encodeCursor(payload: CursorPayload): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify(payload)));
}

export function decodeCursor(cursor: string, expectedSort: string): CursorPayload {
  try {
    const json = new TextDecoder().decode(fromBase64Url(cursor));
    const payload = CursorPayloadSchema.parse(JSON.parse(json));
    if (payload.sort === expectedSort) return payload;
  } catch {
    // Falls through to the same answer as a cursor made for another sort.
  }
  throw new AppError(422, 'invalid_cursor', 'The cursor is not valid for this listing.', {
    errors: [
      { pointer: '/query/cursor', message: 'Use the next_cursor of a previous page with the same sort.' },
    ],
  });
}

/** Splits a `limit + 1` fetch into the page and the cursor for the next one. */
export function paginate<T>(
  rows: T[],
  limit: number,
  sort: string,
  keyOf: (row: T) => (string | number)[],
): { data: T[]; page: { limit: number; next_cursor: string | null } } {
  const data = rows.slice(0, limit);
  const last = data.at(-1);
  const next_cursor = rows.length > limit && last ? encodeCursor({ sort, key: keyOf(last) }) : null;
  return { data, page: { limit, next_cursor } };
}

/**
 * The filter for the rows after `cursor` in a listing sorted ascending by one unique text `column` (an id, a
 * code); undefined (no filter) on the first page.
 *
 * @example .where(and(afterCursor(products.id, query.cursor, 'id'), eq(products.status, 'active')))
 */
export function afterCursor(column: SQLiteColumn, cursor: string | undefined, sort: string): SQL | undefined {
  return cursor === undefined ? undefined : gt(column, String(decodeCursor(cursor, sort).key[0]));
}
