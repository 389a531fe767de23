/**
 * The (created_at, id) keyset most admin listings sort by, read back from a decoded cursor. A well-formed cursor
 * of the right sort can still carry forged values; they are client input, so a 422 and never a 500.
 */
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
