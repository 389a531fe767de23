/**
 * The payments service as checkout and orders use it: authorize, capture, refund and void, each returning
 * writes that the caller commits, checked against what lands in D1 (payment rows, refunds, outbox events,
 * audit entries); provider choice and configuration; and the storefront's confirmation (`syncPayment`) with
 * the settlement seam. Stripe is faked at the fetch boundary.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../src/lib/errors';
import { PaymentUnavailable, paymentDeclined } from '../../src/modules/payments/errors';
import { chooseProvider, paymentProvider } from '../../src/modules/payments/providers';
import { paymentsOfOrder, refundsOfPayment } from '../../src/modules/payments/read';
import { serializePayment, serializeRefund } from '../../src/modules/payments/schemas';
import {
  authorizePayment,
  capturePayment,
  refundPayment,
  syncPayment,
  voidPayment,
} from '../../src/modules/payments/service';
import { FakeStripe } from '../helpers/fake-stripe';
import {
  auditOf,
  commitWrites,
  createOrdersStandIn,
  createPayment,
  db,
  eventsOf,
  guest,
  insertPendingOrder,
  markStandInOrderPaid,
  newCartId,
  orderStatus,
  staff,
  standInOrderPaid,
  storedPayment,
} from '../helpers/payments';

const stripe = new FakeStripe();
stripe.install();

beforeAll(createOrdersStandIn);
beforeEach(() => {
  stripe.behaviour = 'serve';
});

const key = () => crypto.randomUUID();
const logger = { info: () => {}, warn: () => {}, error: () => {} };

async function expectAppError(promise: Promise<unknown>, status: number, code: string): Promise<void> {
  await expect(promise).rejects.toSatisfy(
    (e: unknown) => e instanceof AppError && e.status === status && e.code === code,
    `${status} ${code}`,
  );
}

describe('choosing a provider', () => {
  it('takes the first enabled provider by default and any enabled one on request', () => {
    expect(chooseProvider(env)).toBe('manual');
    expect(chooseProvider(env, 'stripe')).toBe('stripe');
    expect(chooseProvider({ ...env, PAYMENT_PROVIDERS: 'stripe, manual' })).toBe('stripe');
  });

  it('refuses a provider the store has not enabled, manual included where only stripe is', () => {
    const onlyStripe = { ...env, PAYMENT_PROVIDERS: 'stripe' };
    for (const requested of ['manual', 'paypal']) {
      let error: unknown;
      try {
        chooseProvider(onlyStripe, requested);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({
        status: 422,
        code: 'payment_provider_not_enabled',
        errors: [{ pointer: '/body/provider', message: 'Use one of: stripe' }],
      });
    }
  });

  it('fails loudly on a malformed configuration', () => {
    expect(() => chooseProvider({ ...env, PAYMENT_PROVIDERS: 'paypal' })).toThrow(
      'PAYMENT_PROVIDERS must list some of manual, stripe',
    );
    expect(() => chooseProvider({ ...env, PAYMENT_PROVIDERS: ' ' })).toThrow('PAYMENT_PROVIDERS');
    expect(() => paymentProvider({ ...env, PAYMENT_TIMEOUT_MS: 'soon' }, 'manual', logger)).toThrow(
      'PAYMENT_TIMEOUT_MS must be a whole number of ms',
    );
    const withoutStripe = { ...env, STRIPE_SECRET_KEY: '' };
    expect(() => paymentProvider(withoutStripe, 'stripe', logger)).toThrow('STRIPE_SECRET_KEY is not set');
  });
});

describe('authorizePayment', () => {
  it('authorizes with the manual provider: the writes insert the payment and raise payment.authorized', async () => {
    const cartId = newCartId();
    const result = await authorizePayment(db, env, guest(), {
      provider: 'manual',
      cartId,
      orderId: 'ord_test_1',
      amount: 4200,
      currency: 'eur',
      idempotencyKey: key(),
    });
    if (result.status === 'declined') throw new Error('declined');
    expect(result.status).toBe('authorized');
    expect(result.clientSecret).toBeNull();
    expect(result.payment).toMatchObject({
      id: expect.stringMatching(/^pay_/),
      orderId: 'ord_test_1',
      cartId,
      provider: 'manual',
      providerRef: expect.stringMatching(/^manual_pay_/),
      status: 'authorized',
      amount: 4200,
      currency: 'EUR',
      amountCaptured: 0,
      amountRefunded: 0,
    });
    expect(result.writes.audit).toStrictEqual([]);
    expect(await storedPayment(result.payment.id).catch(() => null)).toBeNull();

    await commitWrites(guest(), result.writes);
    expect(await paymentsOfOrder(db, 'ord_test_1')).toStrictEqual([result.payment]);
    expect(await eventsOf(result.payment.id)).toStrictEqual([
      { type: 'payment.authorized', payload: serializePayment(result.payment) },
    ]);
  });

  it('creates a Stripe PaymentIntent waiting for the shopper; the client secret is returned, never stored', async () => {
    const cartId = newCartId();
    const result = await authorizePayment(db, env, guest(), {
      provider: 'stripe',
      cartId,
      orderId: 'ord_test_2',
      amount: 1999,
      currency: 'USD',
      idempotencyKey: 'client-key-1',
      email: 'shopper@example.com',
    });
    if (result.status === 'declined') throw new Error('declined');
    const intent = stripe.intents.get(result.payment.providerRef);
    expect(result.status).toBe('requires_action');
    expect(result.clientSecret).toBe(intent?.client_secret);
    const sent = stripe.lastRequest('/payment_intents');
    expect(sent.headers['idempotency-key']).toMatch(
      new RegExp(`^edgecart:authorize:${cartId}:[0-9a-f]{32}$`),
    );
    expect(sent.headers['idempotency-key']).not.toContain('client-key-1');
    expect(sent.form).toMatchObject({
      amount: '1999',
      currency: 'usd',
      'metadata[cart_id]': cartId,
      receipt_email: 'shopper@example.com',
    });

    await commitWrites(guest(), result.writes);
    expect(await storedPayment(result.payment.id)).toMatchObject({ status: 'requires_action' });
    expect((await eventsOf(result.payment.id)).map((e) => e.type)).toStrictEqual(['payment.created']);
    const everything = JSON.stringify([
      await env.DB.prepare('SELECT * FROM payments').all(),
      await env.DB.prepare('SELECT * FROM outbox_events').all(),
    ]);
    expect(everything).not.toContain(result.clientSecret);
  });

  it('scopes the provider idempotency key by cart and amount: a changed total is a new payment', async () => {
    const cartId = newCartId();
    const attempt = (amount: number) =>
      authorizePayment(db, env, guest(), {
        provider: 'stripe',
        cartId,
        orderId: null,
        amount,
        currency: 'EUR',
        idempotencyKey: 'same-client-key',
      });
    const first = await attempt(5000);
    const retry = await attempt(5000);
    const changed = await attempt(5500);
    const refs = [first, retry, changed].map((r) => (r.status === 'declined' ? null : r.payment.providerRef));
    expect(refs[0]).toBe(refs[1]);
    expect(refs[2]).not.toBe(refs[0]);
  });

  it('answers a decline with nothing to write, for checkout to answer 402 payment_declined', async () => {
    const before = await env.DB.prepare('SELECT COUNT(*) AS n FROM payments').first('n');
    expect(
      await authorizePayment(db, env, guest(), {
        provider: 'stripe',
        cartId: newCartId(),
        orderId: null,
        amount: 4200,
        currency: 'EUR',
        idempotencyKey: key(),
        paymentMethod: 'pm_card_chargeDeclined',
      }),
    ).toStrictEqual({ status: 'declined', declineCode: 'generic_decline' });
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM payments').first('n')).toBe(before);
    const declined = paymentDeclined();
    expect([declined.status, declined.code, declined.message]).toStrictEqual([
      402,
      'payment_declined',
      'The payment was declined; try another payment method.',
    ]);
  });

  it('refuses an amount that is not a whole number of minor units above zero, before any provider call', async () => {
    const sent = stripe.requests.length;
    for (const amount of [0, -1, 12.5, Number.NaN, 2 ** 60]) {
      await expectAppError(
        authorizePayment(db, env, guest(), {
          provider: 'stripe',
          cartId: newCartId(),
          orderId: null,
          amount,
          currency: 'EUR',
          idempotencyKey: key(),
        }),
        422,
        'invalid_amount',
      );
    }
    expect(stripe.requests.length).toBe(sent);
  });

  it('answers 503 payment_unavailable when the provider does not answer in time', async () => {
    stripe.behaviour = 'hang';
    const promise = authorizePayment(db, { ...env, PAYMENT_TIMEOUT_MS: '5' }, guest(), {
      provider: 'stripe',
      cartId: newCartId(),
      orderId: null,
      amount: 4200,
      currency: 'EUR',
      idempotencyKey: key(),
    });
    await expect(promise).rejects.toBeInstanceOf(PaymentUnavailable);
    await expect(promise).rejects.toMatchObject({
      status: 503,
      reason: 'timeout',
      headers: { 'Retry-After': '1' },
    });
  });
});

describe('capturePayment', () => {
  it('captures in full by default, with an audit entry and payment.captured', async () => {
    const { payment } = await createPayment('manual');
    const caller = staff();
    const result = await capturePayment(db, env, caller, { paymentId: payment.id, idempotencyKey: key() });
    expect(result.payment).toMatchObject({ status: 'captured', amountCaptured: 4200 });
    await commitWrites(caller, result.writes);
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'captured', amount_captured: 4200 });
    expect((await eventsOf(payment.id)).map((e) => e.type)).toStrictEqual([
      'payment.authorized',
      'payment.captured',
    ]);
    expect(await auditOf(payment.id)).toStrictEqual([
      {
        action: 'payment.capture',
        actor_id: 'stf_payments_test',
        changes: {
          row: {
            status: { from: 'authorized', to: 'captured' },
            amount_captured: { from: 0, to: 4200 },
          },
        },
      },
    ]);
  });

  it('captures part of a Stripe authorization', async () => {
    const { payment } = await createPayment('stripe', { paymentMethod: 'pm_card_visa' });
    const result = await capturePayment(db, env, staff(), {
      paymentId: payment.id,
      amount: 4000,
      idempotencyKey: key(),
    });
    expect(stripe.lastRequest(`/payment_intents/${payment.providerRef}/capture`).form).toStrictEqual({
      amount_to_capture: '4000',
    });
    await commitWrites(staff(), result.writes);
    expect(await storedPayment(payment.id)).toMatchObject({
      status: 'captured',
      amount: 4200,
      amount_captured: 4000,
    });
  });

  it('refuses more than authorized, a bad amount, a payment not authorized, and an unknown payment', async () => {
    const { payment } = await createPayment('manual');
    await expectAppError(
      capturePayment(db, env, staff(), { paymentId: payment.id, amount: 4201, idempotencyKey: key() }),
      409,
      'capture_exceeds_authorized',
    );
    await expectAppError(
      capturePayment(db, env, staff(), { paymentId: payment.id, amount: 0, idempotencyKey: key() }),
      422,
      'invalid_amount',
    );
    await commitWrites(
      staff(),
      (await capturePayment(db, env, staff(), { paymentId: payment.id, idempotencyKey: key() })).writes,
    );
    await expectAppError(
      capturePayment(db, env, staff(), { paymentId: payment.id, idempotencyKey: key() }),
      409,
      'payment_not_capturable',
    );
    await expectAppError(
      capturePayment(db, env, staff(), { paymentId: 'pay_missing', idempotencyKey: key() }),
      404,
      'not_found',
    );
  });

  it('answers 409 payment_state_conflict when Stripe says the payment moved on', async () => {
    const { payment } = await createPayment('stripe', { paymentMethod: 'pm_card_visa' });
    Object.assign(stripe.intents.get(payment.providerRef) ?? {}, { status: 'canceled' });
    await expectAppError(
      capturePayment(db, env, staff(), { paymentId: payment.id, idempotencyKey: key() }),
      409,
      'payment_state_conflict',
    );
  });
});

describe('refundPayment', () => {
  async function captured(provider: 'manual' | 'stripe' = 'manual', amount = 4200) {
    const { payment } = await createPayment(provider, {
      amount,
      paymentMethod: provider === 'stripe' ? 'pm_card_visa' : undefined,
    });
    await commitWrites(
      staff(),
      (await capturePayment(db, env, staff(), { paymentId: payment.id, idempotencyKey: key() })).writes,
    );
    return payment;
  }

  it('refunds in parts up to the captured amount: partially_refunded, then refunded', async () => {
    const payment = await captured();
    const first = await refundPayment(db, env, staff(), {
      paymentId: payment.id,
      amount: 1000,
      reason: 'one item damaged',
      idempotencyKey: key(),
    });
    expect(first.refund).toMatchObject({ amount: 1000, reason: 'one item damaged', status: 'succeeded' });
    expect(first.payment).toMatchObject({ status: 'partially_refunded', amountRefunded: 1000 });
    await commitWrites(staff(), first.writes);
    expect(await storedPayment(payment.id)).toMatchObject({
      status: 'partially_refunded',
      amount_refunded: 1000,
    });

    await expectAppError(
      refundPayment(db, env, staff(), {
        paymentId: payment.id,
        amount: 3201,
        reason: null,
        idempotencyKey: key(),
      }),
      409,
      'refund_exceeds_refundable',
    );
    const rest = await refundPayment(db, env, staff(), {
      paymentId: payment.id,
      amount: 3200,
      reason: null,
      idempotencyKey: key(),
    });
    expect(rest.payment).toMatchObject({ status: 'refunded', amountRefunded: 4200 });
    await commitWrites(staff(), rest.writes);
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'refunded', amount_refunded: 4200 });
    const { results: rows } = await env.DB.prepare(
      'SELECT amount, reason, status FROM refunds WHERE payment_id = ? ORDER BY created_at',
    )
      .bind(payment.id)
      .all();
    expect(rows).toStrictEqual([
      { amount: 1000, reason: 'one item damaged', status: 'succeeded' },
      { amount: 3200, reason: null, status: 'succeeded' },
    ]);
    const events = await eventsOf(payment.id);
    expect(events.map((e) => e.type)).toStrictEqual([
      'payment.authorized',
      'payment.captured',
      'payment.partially_refunded',
      'payment.refunded',
    ]);
    expect(events[2]?.payload.refund).toStrictEqual(serializeRefund(first.refund));
    expect(await refundsOfPayment(db, payment.id)).toStrictEqual([first.refund, rest.refund]);
    expect((await auditOf(payment.id)).map((a) => a.action)).toStrictEqual([
      'payment.capture',
      'payment.refund',
      'payment.refund',
    ]);
    await expectAppError(
      refundPayment(db, env, staff(), {
        paymentId: payment.id,
        amount: 1,
        reason: null,
        idempotencyKey: key(),
      }),
      409,
      'payment_not_refundable',
    );
  });

  it('records a provider refund once: the same row again changes nothing, another row for it fails the batch', async () => {
    const payment = await captured();
    const idempotencyKey = key();
    const input = { paymentId: payment.id, amount: 700, reason: null, idempotencyKey };
    const first = await refundPayment(db, env, staff(), input);
    // The same key at once, as a concurrent request for the same refund sends it: the provider answers with the
    // same refund, which this call would record again as a refund of its own.
    const concurrent = await refundPayment(db, env, staff(), input);
    expect(concurrent.refund.providerRef).toBe(first.refund.providerRef);
    await commitWrites(staff(), first.writes);
    await commitWrites(staff(), first.writes);
    await expect(commitWrites(staff(), concurrent.writes)).rejects.toThrow(
      /NOT NULL constraint failed: payments\.amount_refunded/,
    );
    // The same key once it is recorded (the order layer answers such a retry without calling): the same refund,
    // whose batch fails too.
    const retry = await refundPayment(db, env, staff(), input);
    expect(retry.refund.providerRef).toBe(first.refund.providerRef);
    await expect(commitWrites(staff(), retry.writes)).rejects.toThrow(
      /NOT NULL constraint failed: payments\.amount_refunded/,
    );
    expect(await storedPayment(payment.id)).toMatchObject({
      status: 'partially_refunded',
      amount_refunded: 700,
    });
    expect(await refundsOfPayment(db, payment.id)).toStrictEqual([first.refund]);
  });

  it('fails the batch of a refund that no longer fits what was captured, whatever the provider accepted', async () => {
    const payment = await captured('manual', 1000);
    // Both planned against the untouched payment, as two concurrent requests plan them; manual accepts both.
    const refund = () =>
      refundPayment(db, env, staff(), {
        paymentId: payment.id,
        amount: 600,
        reason: null,
        idempotencyKey: key(),
      });
    const first = await refund();
    const second = await refund();
    await commitWrites(staff(), first.writes);
    const before = await storedPayment(payment.id);
    await expect(commitWrites(staff(), second.writes)).rejects.toThrow(
      /NOT NULL constraint failed: payments\.amount_refunded/,
    );
    expect(await storedPayment(payment.id)).toStrictEqual(before);
    expect(before).toMatchObject({
      status: 'partially_refunded',
      amount_captured: 1000,
      amount_refunded: 600,
    });
    expect((await refundsOfPayment(db, payment.id)).map((r) => r.amount)).toStrictEqual([600]);
    expect((await auditOf(payment.id)).map((a) => a.action)).toStrictEqual([
      'payment.capture',
      'payment.refund',
    ]);
  });

  it('refuses a payment that was not captured, and a bad amount', async () => {
    const { payment } = await createPayment('manual');
    await expectAppError(
      refundPayment(db, env, staff(), {
        paymentId: payment.id,
        amount: 100,
        reason: null,
        idempotencyKey: key(),
      }),
      409,
      'payment_not_refundable',
    );
    const capturedPayment = await captured();
    await expectAppError(
      refundPayment(db, env, staff(), {
        paymentId: capturedPayment.id,
        amount: 1.5,
        reason: null,
        idempotencyKey: key(),
      }),
      422,
      'invalid_amount',
    );
  });

  it('answers 503 with Retry-After while Stripe runs another request with the refund’s key, recording nothing', async () => {
    const payment = await captured('stripe');
    const before = await storedPayment(payment.id);
    const answerOf = stripe.handle.bind(stripe);
    // The same change sent twice at once: Stripe refuses the second while the first runs.
    const inFlight = vi.spyOn(stripe, 'handle').mockImplementation(async (request, signal) =>
      request.method === 'POST' && new URL(request.url).pathname === '/v1/refunds'
        ? Response.json(
            {
              error: {
                type: 'idempotency_error',
                message: 'There is currently another in-progress request using this Idempotent Key.',
              },
            },
            { status: 409 },
          )
        : answerOf(request, signal),
    );
    const refused = refundPayment(db, env, staff(), {
      paymentId: payment.id,
      amount: 500,
      reason: null,
      idempotencyKey: key(),
    });
    await expect(refused).rejects.toMatchObject({
      status: 503,
      code: 'payment_unavailable',
      retryAfterSeconds: 1,
    });
    inFlight.mockRestore();
    expect(await storedPayment(payment.id)).toStrictEqual(before);
    expect(await refundsOfPayment(db, payment.id)).toStrictEqual([]);
  });

  it('refunds through Stripe, and answers 409 when Stripe has less left to refund than our record says', async () => {
    const payment = await captured('stripe');
    const result = await refundPayment(db, env, staff(), {
      paymentId: payment.id,
      amount: 1200,
      reason: 'late',
      idempotencyKey: key(),
    });
    expect(result.refund.providerRef).toMatch(/^re_/);
    expect(stripe.lastRequest('/refunds').form).toStrictEqual({
      payment_intent: payment.providerRef,
      amount: '1200',
      'metadata[edgecart]': 'refund',
      'metadata[edgecart_key]': result.refund.providerKey,
      'metadata[reason]': 'late',
    });
    expect(result.refund.providerKey).toBe(stripe.lastRequest('/refunds').headers['idempotency-key']);
    await commitWrites(staff(), result.writes);
    // Staff refunded the rest in Stripe's dashboard; its webhook has not arrived yet.
    stripe.refunded.set(payment.providerRef, 4200);
    await expectAppError(
      refundPayment(db, env, staff(), {
        paymentId: payment.id,
        amount: 100,
        reason: null,
        idempotencyKey: key(),
      }),
      409,
      'payment_state_conflict',
    );
  });
});

describe('voidPayment', () => {
  it('voids an authorization and a payment still waiting for the shopper', async () => {
    const { payment: manual } = await createPayment('manual');
    const voided = await voidPayment(db, env, staff(), { paymentId: manual.id, idempotencyKey: key() });
    await commitWrites(staff(), voided.writes);
    expect(await storedPayment(manual.id)).toMatchObject({ status: 'voided' });
    expect((await eventsOf(manual.id)).map((e) => e.type)).toStrictEqual([
      'payment.authorized',
      'payment.voided',
    ]);
    expect((await auditOf(manual.id)).map((a) => a.action)).toStrictEqual(['payment.void']);

    const { payment: waiting } = await createPayment('stripe');
    await commitWrites(
      staff(),
      (await voidPayment(db, env, staff(), { paymentId: waiting.id, idempotencyKey: key() })).writes,
    );
    expect(stripe.intents.get(waiting.providerRef)?.status).toBe('canceled');
    expect(await storedPayment(waiting.id)).toMatchObject({ status: 'voided' });
  });

  it('refuses a captured payment', async () => {
    const { payment } = await createPayment('manual');
    await commitWrites(
      staff(),
      (await capturePayment(db, env, staff(), { paymentId: payment.id, idempotencyKey: key() })).writes,
    );
    await expectAppError(
      voidPayment(db, env, staff(), { paymentId: payment.id, idempotencyKey: key() }),
      409,
      'payment_not_voidable',
    );
  });
});

describe('syncPayment (the storefront’s confirmation)', () => {
  it('records the authorization the shopper completed, adding the order side to the same batch', async () => {
    const orderId = `ord_${crypto.randomUUID()}`;
    await insertPendingOrder(orderId);
    const { payment } = await createPayment('stripe', { orderId });
    stripe.confirm(payment.providerRef);
    const result = await syncPayment(db, env, guest(), {
      paymentId: payment.id,
      onPaymentSettled: markStandInOrderPaid,
    });
    expect(result.outcome).toBe('changed');
    expect(result.payment).toMatchObject({ status: 'authorized' });
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'authorized' });
    expect(await orderStatus(orderId)).toBe('paid');
    expect(await eventsOf(orderId)).toStrictEqual([standInOrderPaid(orderId, payment, 'confirmation')]);

    const sent = stripe.requests.length;
    expect(
      (await syncPayment(db, env, guest(), { paymentId: payment.id, onPaymentSettled: markStandInOrderPaid }))
        .outcome,
    ).toBe('unchanged');
    expect(stripe.requests.length).toBe(sent);
    expect((await eventsOf(payment.id)).map((e) => e.type)).toStrictEqual([
      'payment.created',
      'payment.authorized',
    ]);
  });

  it('records a failed attempt with its code, and the later successful one', async () => {
    const { payment } = await createPayment('stripe');
    stripe.confirm(payment.providerRef, 'pm_card_chargeDeclined');
    expect((await syncPayment(db, env, guest(), { paymentId: payment.id })).payment).toMatchObject({
      status: 'failed',
      failureCode: 'generic_decline',
    });
    expect(await storedPayment(payment.id)).toMatchObject({
      status: 'failed',
      failure_code: 'generic_decline',
    });
    stripe.confirm(payment.providerRef, 'pm_card_visa');
    await syncPayment(db, env, guest(), { paymentId: payment.id });
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'authorized', failure_code: null });
    expect((await eventsOf(payment.id)).map((e) => e.type)).toStrictEqual([
      'payment.created',
      'payment.failed',
      'payment.authorized',
    ]);
  });

  it('changes nothing while the shopper has not finished', async () => {
    const { payment } = await createPayment('stripe');
    stripe.confirm(payment.providerRef, 'pm_card_threeDSecure2Required');
    expect((await syncPayment(db, env, guest(), { paymentId: payment.id })).outcome).toBe('unchanged');
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'requires_action' });
  });
});
