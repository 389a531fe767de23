/**
 * How many messages a client may send: a token bucket per connection (a burst of `messageBurst`, refilled at
 * `messagesPerSecond`). A message over the budget is refused; a client that keeps sending while refused
 * (`maxRefusedInARow`) is cut off. The clock is injected, so tests move time instead of waiting for it.
 */
import { LIVE_LIMITS } from '../../lib/live-messages';

export type BudgetVerdict = 'allowed' | 'refused' | 'exhausted';

export class MessageBudget {
  private tokens: number;
  private refilledAt: number;
  private refusedInARow = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly limits: {
      messageBurst: number;
      messagesPerSecond: number;
      maxRefusedInARow: number;
    } = LIVE_LIMITS,
  ) {
    this.tokens = limits.messageBurst;
    this.refilledAt = now();
  }

  take(): BudgetVerdict {
    const now = this.now();
    this.tokens = Math.min(
      this.limits.messageBurst,
      this.tokens + ((now - this.refilledAt) / 1000) * this.limits.messagesPerSecond,
    );
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.refusedInARow = 0;
      return 'allowed';
    }
    this.refusedInARow += 1;
    return this.refusedInARow > this.limits.maxRefusedInARow ? 'exhausted' : 'refused';
  }
}
