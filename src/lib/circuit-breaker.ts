/**
 * A circuit breaker for calls to one outside service, kept in isolate memory. Closed: calls pass, consecutive
 * failures are counted. After `failureThreshold` of them it opens: calls are refused at once (no request, no
 * timeout to wait out) for `coolDownMs`. Then it is half-open: the next call is let through as the probe, and
 * every other call is refused until the probe reports; success closes the breaker, failure opens it again for
 * another cool-down. A probe that never reports (its request was cancelled) stops blocking after a cool-down.
 *
 * The clock is injected, so tests move time instead of waiting for it.
 */

export type BreakerState = 'closed' | 'open' | 'half_open';

export type BreakerOptions = {
  failureThreshold: number;
  coolDownMs: number;
  /** Milliseconds since the epoch; `Date.now` unless a test injects its own clock. */
  now?: () => number;
};

/** A call may go ahead, or must be refused for `retryAfterMs` (when the next probe may be tried). */
export type Admission = { allowed: true } | { allowed: false; retryAfterMs: number };

/** How long a call refused during a probe waits: the probe's answer is usually a moment away. */
const PROBE_PENDING_RETRY_MS = 1_000;

export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | null = null;
  private probeStartedAt: number | null = null;
  private readonly now: () => number;

  constructor(private readonly options: BreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  state(): BreakerState {
    if (this.openedAt === null) return 'closed';
    return this.now() - this.openedAt < this.options.coolDownMs ? 'open' : 'half_open';
  }

  /** Asks to make a call; a call that is allowed must report `succeeded()` or `failed()`. */
  admit(): Admission {
    const state = this.state();
    if (state === 'closed') return { allowed: true };
    const now = this.now();
    if (state === 'open') {
      return { allowed: false, retryAfterMs: (this.openedAt ?? now) + this.options.coolDownMs - now };
    }
    const probing = this.probeStartedAt !== null && now - this.probeStartedAt < this.options.coolDownMs;
    if (probing) return { allowed: false, retryAfterMs: PROBE_PENDING_RETRY_MS };
    this.probeStartedAt = now;
    return { allowed: true };
  }

  succeeded(): void {
    this.failures = 0;
    this.openedAt = null;
    this.probeStartedAt = null;
  }

  /** Records a failure; returns how long calls are now refused (0 while the breaker stays closed). */
  failed(): number {
    this.failures += 1;
    this.probeStartedAt = null;
    if (this.openedAt === null && this.failures < this.options.failureThreshold) return 0;
    this.openedAt = this.now();
    return this.options.coolDownMs;
  }
}
