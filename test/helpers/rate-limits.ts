/**
 * No HTTP, no D1: waits for a fresh rate-limit window.
 *
 * The local rate limiting binding (miniflare's RateLimiterObject) counts per key in fixed windows aligned to
 * the wall clock: window = floor(now / period), and a key's count starts again from zero in the next window.
 * A test that counts up to a limit must not straddle a boundary, or the count restarts halfway; so it first
 * waits out a window that is about to close (at most `neededMs`). Nothing is faked: the real binding counts.
 */
export const RATE_WINDOW_MS = 60_000;

export async function freshRateLimitWindow(neededMs = 10_000): Promise<void> {
  const left = RATE_WINDOW_MS - (Date.now() % RATE_WINDOW_MS);
  if (left < neededMs) await new Promise((resolve) => setTimeout(resolve, left + 50));
}
