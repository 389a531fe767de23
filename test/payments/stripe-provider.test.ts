/**
 * The Stripe provider against a fake Stripe at the fetch boundary: what goes over the wire (URL, method,
 * form body, Authorization, Stripe-Version, Idempotency-Key) and how each answer is read.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  IDEMPOTENCY_ERROR,
  ProviderRejected,
  ProviderUnreachable,
} from '../../src/modules/payments/provider';
import { STRIPE_API_VERSION } from '../../src/modules/payments/stripe-api';
import { stripeProvider } from '../../src/modules/payments/stripe-provider';
import { FakeStripe, STRIPE_API } from '../helpers/fake-stripe';

const SECRET_KEY = 'sk_test_provider_tests';
const stripe = new FakeStripe(SECRET_KEY);
stripe.install();
const provider = stripeProvider(SECRET_KEY);
const signal = new AbortController().signal;

beforeEach(() => {
  stripe.behaviour = 'serve';
});

const authorizeRequest = (extra = {}) => ({
  amount: 4200,
  currency: 'EUR',
  idempotencyKey: `edgecart:authorize:cart_1:${crypto.randomUUID()}`,
  metadata: { cart_id: 'cart_1' },
  ...extra,
});

describe('authorize', () => {
  it('creates a manual-capture PaymentIntent and returns its client secret for the storefront', async () => {
    const request = authorizeRequest({ email: 'shopper@example.com' });
    const result = await provider.authorize(request, signal);
    const sent = stripe.lastRequest('/payment_intents');
    expect(sent).toStrictEqual({
      method: 'POST',
      url: `${STRIPE_API}/payment_intents`,
      headers: {
        authorization: `Bearer ${SECRET_KEY}`,
        'content-type': 'application/x-www-form-urlencoded',
        'idempotency-key': request.idempotencyKey,
        'stripe-version': STRIPE_API_VERSION,
      },
      form: {
        amount: '4200',
        currency: 'eur',
        capture_method: 'manual',
        'automatic_payment_methods[enabled]': 'true',
        'metadata[cart_id]': 'cart_1',
        receipt_email: 'shopper@example.com',
      },
    });
    const intent = [...stripe.intents.values()].at(-1);
    expect(result).toStrictEqual({
      status: 'requires_action',
      providerRef: intent?.id,
      clientSecret: intent?.client_secret,
    });
  });

  it('confirms server-side with a payment method, without redirects', async () => {
    const result = await provider.authorize(authorizeRequest({ paymentMethod: 'pm_card_visa' }), signal);
    expect(stripe.lastRequest('/payment_intents').form).toMatchObject({
      payment_method: 'pm_card_visa',
      confirm: 'true',
      'automatic_payment_methods[enabled]': 'true',
      'automatic_payment_methods[allow_redirects]': 'never',
    });
    expect(result).toStrictEqual({ status: 'authorized', providerRef: [...stripe.intents.keys()].at(-1) });
  });

  it('reads a card error (402) as a decline, keeping the PaymentIntent and the decline code', async () => {
    const result = await provider.authorize(
      authorizeRequest({ paymentMethod: 'pm_card_chargeDeclined' }),
      signal,
    );
    expect(result).toStrictEqual({
      status: 'declined',
      providerRef: [...stripe.intents.keys()].at(-1),
      declineCode: 'generic_decline',
    });
  });

  it('reads an amount Stripe will not charge as a decline', async () => {
    expect(await provider.authorize(authorizeRequest({ amount: 10 }), signal)).toStrictEqual({
      status: 'declined',
      providerRef: null,
      declineCode: 'amount_too_small',
    });
  });

  it('reads a payment method Stripe does not know (400 resource_missing) as a decline', async () => {
    const intents = stripe.intents.size;
    const result = await provider.authorize(authorizeRequest({ paymentMethod: 'pm_missing_typo' }), signal);
    expect(result).toStrictEqual({ status: 'declined', providerRef: null, declineCode: 'resource_missing' });
    expect(stripe.intents.size).toBe(intents);
  });

  it('is idempotent: the same key gets the same PaymentIntent', async () => {
    const request = authorizeRequest();
    const first = await provider.authorize(request, signal);
    expect(await provider.authorize(request, signal)).toStrictEqual(first);
  });

  it('turns any other refusal into ProviderRejected with Stripe’s code, and a bad key too', async () => {
    const request = authorizeRequest();
    await provider.authorize(request, signal);
    // A key replayed with other parameters: Stripe's error has a type and no code.
    await expect(provider.authorize({ ...request, amount: 4300 }, signal)).rejects.toStrictEqual(
      new ProviderRejected(400, IDEMPOTENCY_ERROR),
    );
    await expect(
      stripeProvider('sk_test_wrong').authorize(authorizeRequest(), signal),
    ).rejects.toBeInstanceOf(ProviderRejected);
  });

  it('throws ProviderUnreachable on a 5xx', async () => {
    stripe.behaviour = 'fail';
    await expect(provider.authorize(authorizeRequest(), signal)).rejects.toMatchObject({
      name: 'ProviderUnreachable',
      reason: 'status',
    });
  });
});

describe('capture, refund, cancel, retrieve', () => {
  async function authorized() {
    const { providerRef } = await provider.authorize(
      authorizeRequest({ paymentMethod: 'pm_card_visa' }),
      signal,
    );
    return providerRef as string;
  }

  it('captures part of an authorization', async () => {
    const ref = await authorized();
    expect(
      await provider.capture(ref, { amount: 4000, currency: 'EUR' }, 'edgecart:capture:k1', signal),
    ).toStrictEqual({
      amountCaptured: 4000,
    });
    const sent = stripe.lastRequest(`/payment_intents/${ref}/capture`);
    expect(sent.method).toBe('POST');
    expect(sent.headers['idempotency-key']).toBe('edgecart:capture:k1');
    expect(sent.form).toStrictEqual({ amount_to_capture: '4000' });
  });

  it('refunds with the reason as metadata, and reads Stripe’s refund', async () => {
    const ref = await authorized();
    await provider.capture(ref, { amount: 4200, currency: 'EUR' }, 'edgecart:capture:k2', signal);
    const refund = await provider.refund(
      ref,
      { amount: 1200, currency: 'EUR' },
      'damaged in transit',
      'edgecart:refund:k2',
      signal,
    );
    expect(refund).toStrictEqual({ providerRef: expect.stringMatching(/^re_/), status: 'succeeded' });
    const sent = stripe.lastRequest('/refunds');
    expect(sent.headers['idempotency-key']).toBe('edgecart:refund:k2');
    expect(sent.form).toStrictEqual({
      payment_intent: ref,
      amount: '1200',
      'metadata[edgecart]': 'refund',
      'metadata[edgecart_key]': 'edgecart:refund:k2',
      'metadata[reason]': 'damaged in transit',
    });
    await expect(
      provider.refund(ref, { amount: 4000, currency: 'EUR' }, null, 'edgecart:refund:k3', signal),
    ).rejects.toStrictEqual(new ProviderRejected(400, 'amount_too_large'));
  });

  it('lists every refund of a payment, page after page, telling edgecart’s from the dashboard’s', async () => {
    const ref = await authorized();
    await provider.capture(ref, { amount: 4200, currency: 'EUR' }, 'edgecart:capture:k6', signal);
    const ours = await provider.refund(
      ref,
      { amount: 100, currency: 'EUR' },
      null,
      'edgecart:refund:k6',
      signal,
    );
    const dashboard = Array.from({ length: 100 }, () => stripe.refundInDashboard(ref, 1));
    const listed = await provider.refunds(ref, signal);
    expect(listed).toHaveLength(101);
    expect(listed.at(-1)).toStrictEqual({
      providerRef: ours.providerRef,
      amount: 100,
      status: 'succeeded',
      ours: true,
      key: 'edgecart:refund:k6',
      reason: null,
    });
    expect(listed[0]).toStrictEqual({
      providerRef: dashboard.at(-1)?.id,
      amount: 1,
      status: 'succeeded',
      ours: false,
      key: null,
      reason: null,
    });
    const pages = stripe.requests.filter(
      (r) => new URL(r.url).pathname === '/v1/refunds' && r.method === 'GET',
    );
    expect(pages.map((r) => new URL(r.url).searchParams.get('starting_after'))).toStrictEqual([
      null,
      listed[99]?.providerRef,
    ]);
  });

  it('cancels (voids) an authorization, and reads the state back', async () => {
    const ref = await authorized();
    expect(await provider.retrieve(ref, signal)).toStrictEqual({ status: 'authorized' });
    await provider.cancel(ref, 'edgecart:void:k4', signal);
    expect(stripe.lastRequest(`/payment_intents/${ref}/cancel`).headers['idempotency-key']).toBe(
      'edgecart:void:k4',
    );
    expect(await provider.retrieve(ref, signal)).toStrictEqual({ status: 'voided' });
    expect(stripe.lastRequest(`/payment_intents/${ref}`).method).toBe('GET');
    await expect(
      provider.capture(ref, { amount: 100, currency: 'EUR' }, 'edgecart:capture:k5', signal),
    ).rejects.toStrictEqual(new ProviderRejected(400, 'payment_intent_unexpected_state'));
  });

  it('reads a failed attempt and a payment still waiting for the shopper', async () => {
    const { providerRef } = await provider.authorize(authorizeRequest(), signal);
    const ref = providerRef as string;
    expect(await provider.retrieve(ref, signal)).toStrictEqual({ status: 'requires_action' });
    stripe.confirm(ref, 'pm_card_chargeDeclined');
    expect(await provider.retrieve(ref, signal)).toStrictEqual({
      status: 'failed',
      failureCode: 'generic_decline',
    });
  });

  it('throws ProviderUnreachable on a body that is not a PaymentIntent', async () => {
    const ref = await authorized();
    Object.assign(stripe.intents.get(ref) ?? {}, { status: 'mystery' });
    await expect(provider.retrieve(ref, signal)).rejects.toStrictEqual(
      new ProviderUnreachable('invalid_response', 'stripe: unexpected response body'),
    );
  });
});
