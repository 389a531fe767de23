/**
 * Which provider a payment uses, and the provider instance services call: the implementation, wrapped with
 * the configured timeout and this isolate's circuit breaker for that provider. Breakers live in isolate memory:
 * each isolate learns on its own that a provider is down, after FAILURE_THRESHOLD calls, and shares nothing
 * (a breaker in KV or a Durable Object would put a round trip in front of every payment).
 */
import type { PaymentProviderName } from '../../db/schema';
import { CircuitBreaker } from '../../lib/circuit-breaker';
import { AppError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { enabledProviders, providerTimeoutMs, stripeSecret } from './config';
import { manualProvider } from './manual-provider';
import type { PaymentProvider } from './provider';
import { type ResilientProvider, resilientProvider } from './resilience';
import { stripeProvider } from './stripe-provider';

/** Consecutive failed calls (timeouts, no answer, 5xx, 429) that open a provider's breaker. */
export const FAILURE_THRESHOLD = 5;
/** How long an open breaker refuses calls before it lets one probe through. */
export const COOL_DOWN_MS = 30_000;

const breakers = new Map<PaymentProviderName, CircuitBreaker>();

function breakerFor(name: PaymentProviderName): CircuitBreaker {
  let breaker = breakers.get(name);
  if (!breaker) {
    breaker = new CircuitBreaker({ failureThreshold: FAILURE_THRESHOLD, coolDownMs: COOL_DOWN_MS });
    breakers.set(name, breaker);
  }
  return breaker;
}

/**
 * The provider a new payment uses: `requested` if it is enabled, else the default (the first enabled).
 *
 * @throws AppError 422 `payment_provider_not_enabled` (pointer `/body/provider`) for a provider not enabled.
 */
export function chooseProvider(env: Env, requested?: string): PaymentProviderName {
  const enabled = enabledProviders(env);
  if (requested === undefined) return enabled[0] as PaymentProviderName;
  const chosen = enabled.find((name) => name === requested);
  if (!chosen) {
    throw new AppError(
      422,
      'payment_provider_not_enabled',
      'This store does not take that payment provider.',
      {
        errors: [{ pointer: '/body/provider', message: `Use one of: ${enabled.join(', ')}` }],
      },
    );
  }
  return chosen;
}

function implementation(env: Env, name: PaymentProviderName): PaymentProvider {
  return name === 'stripe' ? stripeProvider(stripeSecret(env, 'STRIPE_SECRET_KEY')) : manualProvider;
}

/**
 * The provider `name`, with timeout and breaker. Not limited to the enabled providers: a payment made with a
 * provider that has since been switched off can still be captured, refunded or voided.
 */
export function paymentProvider(env: Env, name: PaymentProviderName, logger: Logger): ResilientProvider {
  return resilientProvider(implementation(env, name), {
    breaker: breakerFor(name),
    timeoutMs: providerTimeoutMs(env),
    logger,
  });
}
