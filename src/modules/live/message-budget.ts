/**
 * How many messages a client may send: a token bucket per connection (a burst of `messageBurst`, refilled at
 * `messagesPerSecond`). A message over the budget is refused; a client that keeps sending while refused
 * (`maxRefusedInARow`) is cut off. The clock is injected, so tests move time instead of waiting for it.
 */
import { LIVE_LIMITS } from '../../lib/live-messages';

export type BudgetVerdict = 'allowed' | 'refused' | 'exhausted';

/** What a client is told when a message is over the budget. */
export const OVER_BUDGET_MESSAGE = `Too many messages: at most ${LIVE_LIMITS.messageBurst} at once, then ${LIVE_LIMITS.messagesPerSecond} a second.`;

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
