/**
 * The SSE event id of a live stream: where the client is in each of the stream's topics, as their seqs joined
 * by commas in the order of the `topics` parameter (`12,5`; with one topic, just the seq). The browser sends
 * the last one back as `Last-Event-ID` when it reconnects, so every topic resumes where it stopped. A topic the
 * client has no position in yet is an empty entry (`12,`), and resumes as a new subscription.
 */
import { AppError } from '../../lib/errors';

export type Positions = (number | undefined)[];

export const formatCursor = (positions: Positions): string =>
  positions.map((seq) => (seq === undefined ? '' : String(seq))).join(',');

/** The positions a cursor names for `count` topics, or 422 `invalid_last_event_id`. */
export function parseCursor(cursor: string | undefined, count: number): Positions {
  if (cursor === undefined || cursor === '') return Array.from({ length: count }, () => undefined);
  const parts = cursor.split(',');
  if (parts.length !== count || parts.some((part) => part !== '' && !/^\d{1,15}$/.test(part))) {
    throw new AppError(422, 'invalid_last_event_id', 'Last-Event-ID is not an id this stream sent.', {
      errors: [{ pointer: '/header/Last-Event-ID', message: `Expected ${count} comma-separated seqs` }],
    });
  }
  return parts.map((part) => (part === '' ? undefined : Number(part)));
}
