/**
 * Cursor pagination. A cursor is opaque to clients: base64url of JSON naming the sort it belongs to and the last
 * row's sort key. A cursor that does not decode, belongs to another sort, or whose key does not have its sort's
 * shape (count and type of values) is a 422 on `/query/cursor`, never a 500 and never a silently wrong page.
 * Clients can forge any of these, so the decoded key is checked value by value before it reaches SQL.
 */
import { z } from '@hono/zod-openapi';
import { gt, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { fromBase64Url, toBase64Url } from './encoding';
import { AppError } from './errors';
import { queryInteger } from './query-integer';

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

export const PaginationQuery = {
  limit: queryInteger(1, MAX_PAGE_SIZE)
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

/**
 * What each value of a sort's key must be, in order. `integer` is a safe integer, `number` any finite number
 * (e.g. a relevance rank), `time` milliseconds since the epoch that a Date can hold (drizzle turns it into one).
 */
export type KeyShape = readonly ('text' | 'integer' | 'number' | 'time')[];
type KeyValues<S extends KeyShape> = { -readonly [I in keyof S]: S[I] extends 'text' ? string : number };

/** The largest time value, in ms either side of the epoch, that a JavaScript Date can hold (ECMA-262). */
const MAX_TIME_MS = 8.64e15;

const FITS: Record<KeyShape[number], (value: unknown) => boolean> = {
  text: (v) => typeof v === 'string',
  integer: (v) => Number.isSafeInteger(v),
  number: (v) => Number.isFinite(v),
  time: (v) => Number.isSafeInteger(v) && Math.abs(v as number) <= MAX_TIME_MS,
};

const CursorPayloadSchema = z.object({ sort: z.string(), key: z.array(z.unknown()) });

export function encodeCursor(payload: CursorPayload): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify(payload)));
}

/** The key of `cursor`, checked to belong to `sort` and to have `shape`; anything else is a 422. */
export function decodeCursor<const S extends KeyShape>(cursor: string, sort: string, shape: S): KeyValues<S> {
  let payload: z.infer<typeof CursorPayloadSchema> | undefined;
  try {
    payload = CursorPayloadSchema.parse(JSON.parse(new TextDecoder().decode(fromBase64Url(cursor))));
  } catch {
    // Not base64, not JSON or not a payload: the same answer as a cursor made for another sort.
  }
  const key = payload?.sort === sort ? payload.key : undefined;
  if (key?.length === shape.length && shape.every((kind, i) => FITS[kind](key[i]))) {
    return key as KeyValues<S>;
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
  return cursor === undefined ? undefined : gt(column, decodeCursor(cursor, sort, ['text'])[0]);
}
