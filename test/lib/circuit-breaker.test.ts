/** The circuit breaker's states, driven by an injected clock: no test waits for time to pass. */
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../src/lib/circuit-breaker';

function breakerAt(start = 1_000_000) {
  const clock = { now: start };
  const breaker = new CircuitBreaker({ failureThreshold: 3, coolDownMs: 10_000, now: () => clock.now });
  return { breaker, clock };
}

describe('circuit breaker', () => {
  it('stays closed below the threshold, and a success resets the count', () => {
    const { breaker } = breakerAt();
    expect(breaker.failed()).toBe(0);
    expect(breaker.failed()).toBe(0);
    breaker.succeeded();
    expect(breaker.failed()).toBe(0);
    expect(breaker.failed()).toBe(0);
    expect(breaker.state()).toBe('closed');
    expect(breaker.admit()).toStrictEqual({ allowed: true });
  });

  it('opens at the threshold and refuses calls, saying when the next probe may go', () => {
    const { breaker, clock } = breakerAt();
    breaker.failed();
    breaker.failed();
    expect(breaker.failed()).toBe(10_000);
    expect(breaker.state()).toBe('open');
    expect(breaker.admit()).toStrictEqual({ allowed: false, retryAfterMs: 10_000 });
    clock.now += 9_999;
    expect(breaker.admit()).toStrictEqual({ allowed: false, retryAfterMs: 1 });
  });

  it('after the cool-down lets exactly one probe through; its success closes the breaker', () => {
    const { breaker, clock } = breakerAt();
    for (let i = 0; i < 3; i++) breaker.failed();
    clock.now += 10_000;
    expect(breaker.state()).toBe('half_open');
    expect(breaker.admit()).toStrictEqual({ allowed: true });
    expect(breaker.admit()).toStrictEqual({ allowed: false, retryAfterMs: 1_000 });
    breaker.succeeded();
    expect(breaker.state()).toBe('closed');
    expect(breaker.admit()).toStrictEqual({ allowed: true });
    expect(breaker.failed()).toBe(0);
  });

  it('reopens for a whole cool-down when the probe fails', () => {
    const { breaker, clock } = breakerAt();
    for (let i = 0; i < 3; i++) breaker.failed();
    clock.now += 10_000;
    expect(breaker.admit()).toStrictEqual({ allowed: true });
    expect(breaker.failed()).toBe(10_000);
    expect(breaker.state()).toBe('open');
    clock.now += 5_000;
    expect(breaker.admit()).toStrictEqual({ allowed: false, retryAfterMs: 5_000 });
  });

  it('lets another probe through when the first never reported within a cool-down', () => {
    const { breaker, clock } = breakerAt();
    for (let i = 0; i < 3; i++) breaker.failed();
    clock.now += 10_000;
    expect(breaker.admit()).toStrictEqual({ allowed: true });
    clock.now += 9_999;
    expect(breaker.admit()).toStrictEqual({ allowed: false, retryAfterMs: 1_000 });
    clock.now += 1;
    expect(breaker.admit()).toStrictEqual({ allowed: true });
  });
});
