/**
 * No HTTP calls, no D1: runs a rate-limit scenario inside one window, and asserts a rate-limited (429) answer.
 *
 * The local rate limiting binding (miniflare's RateLimiterObject) counts per key in fixed windows aligned to
 * the wall clock: window = floor(now / period), and a key's count starts again from zero in the next window.
 * A test that counts up to a limit fails if a boundary falls inside it, however fast it runs. So it does not
 * wait for a good moment: it runs with fresh keys (new IPs, new accounts, so counts start at zero), and if it
 * failed while the window rolled over during the run, it runs again with new fresh keys; a failure inside one
 * window is a real failure. Nothing is faked: the real binding counts.
 */
import { expect } from 'vitest';
import { problemOf } from './http';

export const RATE_WINDOW_MS = 60_000;
const ATTEMPTS = 3;

const windowAt = (ms: number) => Math.floor(ms / RATE_WINDOW_MS);

/** Runs `scenario` (fresh keys on every call) until a run passes or fails inside a single window. */
export async function inOneRateLimitWindow(scenario: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    // The binding reads the clock while handling each request, so between these two readings.
    const started = windowAt(Date.now());
    try {
      return await scenario();
    } catch (error) {
      if (windowAt(Date.now()) === started || attempt === ATTEMPTS) throw error;
    }
  }
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
