/**
 * What every provider call gets, whatever the provider: a timeout (the call's AbortSignal) and the provider's
 * circuit breaker. A call that times out or gets no usable answer counts as a failure and becomes
 * `PaymentUnavailable`; while the breaker is open, calls fail at once with the time until the next probe. A
 * decline is an answer and a refusal (`ProviderRejected`) proves the provider is up: both count as successes.
 */
import type { CircuitBreaker } from '../../lib/circuit-breaker';
import type { Logger } from '../../lib/logger';
import { PaymentUnavailable } from './errors';
import { type Money, type PaymentProvider, ProviderRejected, ProviderUnreachable } from './provider';

/** Retry-After for a failed call that left the breaker closed: the provider may well answer the next one. */
const FAILED_CALL_RETRY_MS = 1_000;

/** A provider as services see it: the same calls, with the signal supplied by the wrapper. */
export type ResilientProvider = {
  readonly name: PaymentProvider['name'];
  authorize(request: Parameters<PaymentProvider['authorize']>[0]): ReturnType<PaymentProvider['authorize']>;
  capture(ref: string, money: Money, idempotencyKey: string): ReturnType<PaymentProvider['capture']>;
  refund(
    ref: string,
    money: Money,
    reason: string | null,
    idempotencyKey: string,
  ): ReturnType<PaymentProvider['refund']>;
  cancel(ref: string, idempotencyKey: string): ReturnType<PaymentProvider['cancel']>;
  retrieve(ref: string): ReturnType<PaymentProvider['retrieve']>;
  refunds(ref: string): ReturnType<PaymentProvider['refunds']>;
};

export type Resilience = { breaker: CircuitBreaker; timeoutMs: number; logger: Logger };

export function resilientProvider(
  provider: PaymentProvider,
  { breaker, timeoutMs, logger }: Resilience,
): ResilientProvider {
  async function guarded<T>(operation: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const admission = breaker.admit();
    if (!admission.allowed) {
      throw new PaymentUnavailable(provider.name, 'circuit_open', admission.retryAfterMs);
    }
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const result = await call(signal);
      breaker.succeeded();
      return result;
    } catch (error) {
      const timedOut = signal.aborted;
      if (!(error instanceof ProviderUnreachable) && !timedOut) {
        if (error instanceof ProviderRejected) breaker.succeeded();
        throw error;
      }
      const reason = timedOut ? 'timeout' : 'unreachable';
      const refusedForMs = breaker.failed();
      logger.warn('payment provider unavailable', {
        provider: provider.name,
        operation,
        reason,
        detail: error instanceof Error ? error.message : undefined,
        breaker: breaker.state(),
      });
      throw new PaymentUnavailable(provider.name, reason, refusedForMs || FAILED_CALL_RETRY_MS);
    }
  }

  return {
    name: provider.name,
    authorize: (request) => guarded('authorize', (signal) => provider.authorize(request, signal)),
    capture: (ref, money, key) => guarded('capture', (signal) => provider.capture(ref, money, key, signal)),
    refund: (ref, money, reason, key) =>
      guarded('refund', (signal) => provider.refund(ref, money, reason, key, signal)),
    cancel: (ref, key) => guarded('cancel', (signal) => provider.cancel(ref, key, signal)),
    retrieve: (ref) => guarded('retrieve', (signal) => provider.retrieve(ref, signal)),
    refunds: (ref) => guarded('refunds', (signal) => provider.refunds(ref, signal)),
  };
}
