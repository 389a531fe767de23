/**
 * Timeouts and the circuit breaker around a provider, with Stripe faked at the fetch boundary and the
 * breaker's clock injected: a hanging Stripe is cut off by a 5 ms timeout, and cool-downs pass by moving the
 * clock, never by waiting.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../src/lib/circuit-breaker';
import { AppError } from '../../src/lib/errors';
import type { Logger } from '../../src/lib/logger';
import { PaymentUnavailable } from '../../src/modules/payments/errors';
import { COOL_DOWN_MS, FAILURE_THRESHOLD } from '../../src/modules/payments/providers';
import { resilientProvider } from '../../src/modules/payments/resilience';
import { stripeProvider } from '../../src/modules/payments/stripe-provider';
import { FakeStripe } from '../helpers/fake-stripe';

const SECRET_KEY = 'sk_test_resilience';
const stripe = new FakeStripe(SECRET_KEY);
stripe.install();

let clock: { now: number };
let warnings: Record<string, unknown>[];
let breaker: CircuitBreaker;
let provider: ReturnType<typeof resilientProvider>;

const logger: Logger = {
  info: () => {},
  warn: (msg, fields) => warnings.push({ msg, ...fields }),
  error: () => {},
};

beforeEach(() => {
  stripe.behaviour = 'serve';
  clock = { now: Date.UTC(2026, 10, 26) };
  warnings = [];
  breaker = new CircuitBreaker({
    failureThreshold: FAILURE_THRESHOLD,
    coolDownMs: COOL_DOWN_MS,
    now: () => clock.now,
  });
  provider = resilientProvider(stripeProvider(SECRET_KEY), { breaker, timeoutMs: 5, logger });
});

const authorize = (paymentMethod?: string) =>
  provider.authorize({
    amount: 4200,
    currency: 'EUR',
    idempotencyKey: crypto.randomUUID(),
    metadata: {},
    paymentMethod,
  });

async function unavailable(promise: Promise<unknown>): Promise<PaymentUnavailable> {
  const error = await promise.then(
    () => expect.unreachable('the call should have failed'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PaymentUnavailable);
  return error as PaymentUnavailable;
}

describe('timeouts', () => {
  it('cuts off a provider that does not answer, as 503 payment_unavailable with Retry-After', async () => {
    stripe.behaviour = 'hang';
    const error = await unavailable(authorize());
    expect(error).toBeInstanceOf(AppError);
    expect({ status: error.status, code: error.code, headers: error.headers }).toStrictEqual({
      status: 503,
      code: 'payment_unavailable',
      headers: { 'Retry-After': '1' },
    });
    expect({
      provider: error.provider,
      reason: error.reason,
      retryAfterSeconds: error.retryAfterSeconds,
    }).toStrictEqual({
      provider: 'stripe',
      reason: 'timeout',
      retryAfterSeconds: 1,
    });
    expect(warnings).toStrictEqual([
      {
        msg: 'payment provider unavailable',
        provider: 'stripe',
        operation: 'authorize',
        reason: 'timeout',
        detail: 'stripe /payment_intents: no answer',
        breaker: 'closed',
      },
    ]);
  });

  it('times out every kind of call', async () => {
    const { providerRef } = await authorize('pm_card_visa');
    stripe.behaviour = 'hang';
    const ref = providerRef as string;
    for (const call of [
      provider.capture(ref, { amount: 100, currency: 'EUR' }, 'k1'),
      provider.refund(ref, { amount: 100, currency: 'EUR' }, null, 'k2'),
      provider.cancel(ref, 'k3'),
      provider.retrieve(ref),
    ]) {
      expect((await unavailable(call)).reason).toBe('timeout');
    }
  });
});

describe('circuit breaker', () => {
  it('opens after consecutive failures, then fails fast without calling the provider', async () => {
    stripe.behaviour = 'fail';
    for (let i = 1; i < FAILURE_THRESHOLD; i++) {
      const error = await unavailable(authorize());
      expect([error.reason, error.retryAfterSeconds]).toStrictEqual(['unreachable', 1]);
    }
    const opening = await unavailable(authorize());
    expect([opening.reason, opening.retryAfterSeconds]).toStrictEqual(['unreachable', COOL_DOWN_MS / 1000]);
    expect(breaker.state()).toBe('open');

    const sent = stripe.requests.length;
    clock.now += 12_000;
    const fast = await unavailable(authorize());
    expect([fast.reason, fast.retryAfterSeconds, fast.headers]).toStrictEqual([
      'circuit_open',
      (COOL_DOWN_MS - 12_000) / 1000,
      { 'Retry-After': String((COOL_DOWN_MS - 12_000) / 1000) },
    ]);
    expect(stripe.requests.length).toBe(sent);
  });

  it('probes once after the cool-down and closes when the probe succeeds', async () => {
    stripe.behaviour = 'fail';
    for (let i = 0; i < FAILURE_THRESHOLD; i++) await unavailable(authorize());
    stripe.behaviour = 'serve';
    clock.now += COOL_DOWN_MS;
    expect(breaker.state()).toBe('half_open');
    const sent = stripe.requests.length;
    expect((await authorize()).status).toBe('requires_action');
    expect(stripe.requests.length).toBe(sent + 1);
    expect(breaker.state()).toBe('closed');
    expect((await authorize()).status).toBe('requires_action');
  });

  it('refuses other calls while the probe is out, and reopens when the probe fails', async () => {
    stripe.behaviour = 'fail';
    for (let i = 0; i < FAILURE_THRESHOLD; i++) await unavailable(authorize());
    clock.now += COOL_DOWN_MS;
    stripe.behaviour = 'hang';
    const probe = unavailable(authorize());
    const meanwhile = await unavailable(authorize());
    expect([meanwhile.reason, meanwhile.retryAfterSeconds]).toStrictEqual(['circuit_open', 1]);
    expect((await probe).retryAfterSeconds).toBe(COOL_DOWN_MS / 1000);
    expect(breaker.state()).toBe('open');
  });

  it('does not count declines or refusals as failures', async () => {
    for (let i = 0; i < FAILURE_THRESHOLD * 2; i++) {
      expect((await authorize('pm_card_chargeDeclined')).status).toBe('declined');
    }
    const wrongKey = resilientProvider(stripeProvider('sk_test_wrong'), {
      breaker,
      timeoutMs: 1_000,
      logger,
    });
    for (let i = 0; i < FAILURE_THRESHOLD; i++) {
      await expect(
        wrongKey.authorize({ amount: 4200, currency: 'EUR', idempotencyKey: `k${i}`, metadata: {} }),
      ).rejects.toMatchObject({ name: 'ProviderRejected', status: 401 });
    }
    expect(breaker.state()).toBe('closed');
    expect(warnings).toStrictEqual([]);
  });

  it('is reset by a success: only consecutive failures open it', async () => {
    for (let round = 0; round < 3; round++) {
      stripe.behaviour = 'fail';
      for (let i = 1; i < FAILURE_THRESHOLD; i++) await unavailable(authorize());
      stripe.behaviour = 'serve';
      await authorize();
    }
    expect(breaker.state()).toBe('closed');
  });
});
