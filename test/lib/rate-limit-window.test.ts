/** The test helper that keeps rate-limit scenarios inside one window of the binding (test/helpers/rate-limits.ts). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { inOneRateLimitWindow, RATE_WINDOW_MS } from '../helpers/rate-limits';

afterEach(() => vi.restoreAllMocks());

/** A clock that reads each given time once, in order (only the helper reads it here). */
const clock = (...times: number[]) => {
  const spy = vi.spyOn(Date, 'now');
  for (const t of times) spy.mockReturnValueOnce(t);
};

describe('inOneRateLimitWindow', () => {
  it('runs a scenario again when it failed while the window rolled over', async () => {
    clock(RATE_WINDOW_MS - 1, RATE_WINDOW_MS + 1, RATE_WINDOW_MS + 2);
    const scenario = vi
      .fn<() => Promise<void>>()
      .mockRejectedValueOnce(new Error('count restarted'))
      .mockResolvedValueOnce(undefined);
    await inOneRateLimitWindow(scenario);
    expect(scenario).toHaveBeenCalledTimes(2);
  });

  it('reports a failure inside one window at once', async () => {
    clock(RATE_WINDOW_MS + 1, 2 * RATE_WINDOW_MS - 1);
    const scenario = vi.fn<() => Promise<void>>().mockRejectedValue(new Error('real failure'));
    await expect(inOneRateLimitWindow(scenario)).rejects.toThrow('real failure');
    expect(scenario).toHaveBeenCalledTimes(1);
  });

  it('gives up after three runs that each straddled a boundary', async () => {
    clock(
      1 * RATE_WINDOW_MS - 1,
      1 * RATE_WINDOW_MS,
      2 * RATE_WINDOW_MS - 1,
      2 * RATE_WINDOW_MS,
      3 * RATE_WINDOW_MS - 1,
    );
    const scenario = vi.fn<() => Promise<void>>().mockRejectedValue(new Error('too slow'));
    await expect(inOneRateLimitWindow(scenario)).rejects.toThrow('too slow');
    expect(scenario).toHaveBeenCalledTimes(3);
  });
});
