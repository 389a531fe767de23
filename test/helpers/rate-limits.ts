/**
 * No HTTP calls, no D1: waits for a fresh rate-limit window, and asserts a rate-limited (429) answer.
 *
 * The local rate limiting binding (miniflare's RateLimiterObject) counts per key in fixed windows aligned to
 * the wall clock: window = floor(now / period), and a key's count starts again from zero in the next window.
 * A test that counts up to a limit must not straddle a boundary, or the count restarts halfway; so it first
 * waits out a window that is about to close (at most `neededMs`). Nothing is faked: the real binding counts.
 */
import { expect } from 'vitest';
import { problemOf } from './http';

export const RATE_WINDOW_MS = 60_000;

export async function freshRateLimitWindow(neededMs = 10_000): Promise<void> {
  const left = RATE_WINDOW_MS - (Date.now() % RATE_WINDOW_MS);
  if (left < neededMs) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

/** Asserts the answer of a per-IP, per-account or per-token limit: 429 rate_limited, retry in a minute. */
export async function expectRateLimited(res: Response): Promise<void> {
  expect(res.status).toBe(429);
  expect(res.headers.get('Retry-After')).toBe('60');
  expect(await problemOf(res)).toStrictEqual({
    type: 'https://edgecart.dev/problems/rate_limited',
    title: 'Too Many Requests',
    status: 429,
    detail: 'Too many attempts; wait a minute and try again.',
    code: 'rate_limited',
    request_id: expect.any(String),
  });
}
