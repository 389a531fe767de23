/**
 * POST /v1/hooks/stripe through the real Worker, with events signed by the official `stripe` package:
 * signature and timestamp checks, each event applied once (D1 rows), events the hook does not act on, the
 * transport rules for the route (raw body, no CORS, body limit), events caused by edgecart's own calls, and
 * the settlement seam racing the storefront's confirmation.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { refundsOfPayment } from '../../src/modules/payments/read';
import { capturePayment, refundPayment, syncPayment } from '../../src/modules/payments/service';
import { receiveStripeWebhook } from '../../src/modules/payments/webhook-service';
import { rows } from '../helpers/admin-fixtures';
import { deliver, FakeStripe, signature, stripeEvent } from '../helpers/fake-stripe';
import { call, expectProblem } from '../helpers/http';
import {
  capturedStripePayment,
  commitWrites,
  createOrdersStandIn,
  createPayment,
  db,
  eventsOf,
  guest,
  insertPendingOrder,
  markStandInOrderPaid,
  orderStatus,
  receiptsOf,
  refundInFlight,
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
const intentOf = (ref: string) => stripe.intents.get(ref);

/** A payment waiting for the shopper, whom the test then lets confirm in "the browser". */
async function confirmedByShopper(paymentMethod = 'pm_card_visa') {
  const { payment } = await createPayment('stripe');
  stripe.confirm(payment.providerRef, paymentMethod);
  return payment;
}

async function expectResult(res: Response, eventId: string, result: string): Promise<void> {
  expect(res.status).toBe(200);
  expect(await res.json()).toStrictEqual({ event_id: eventId, result });
}

/** A payment's refund rows, smallest first. */
const refundRows = (paymentId: string) =>
  env.DB.prepare('SELECT amount, provider_ref FROM refunds WHERE payment_id = ? ORDER BY amount')
    .bind(paymentId)
    .all()
    .then((r) => r.results);

describe('signature', () => {
  it('applies a correctly signed event', async () => {
    const payment = await confirmedByShopper();
    const event = stripeEvent('payment_intent.amount_capturable_updated', intentOf(payment.providerRef));
    await expectResult(await deliver(event), event.id, 'processed');
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'authorized' });
    expect(await receiptsOf(payment.id)).toStrictEqual([
      { event_id: event.id, type: 'payment_intent.amount_capturable_updated' },
    ]);
    expect((await eventsOf(payment.id)).map((e) => e.type)).toStrictEqual([
      'payment.created',
      'payment.authorized',
    ]);
  });

  it('refuses a wrong secret, a tampered body, a malformed or missing header with one answer, changing nothing', async () => {
    const payment = await confirmedByShopper();
    const event = stripeEvent('payment_intent.amount_capturable_updated', intentOf(payment.providerRef));
    const payload = JSON.stringify(event);
    const header = await signature(payload);
    const post = (body: string, headers: Record<string, string>) =>
      call('/v1/hooks/stripe', {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/json', ...headers },
      });
    const refused = [
      await deliver(event, { secret: 'whsec_not_ours' }),
      await post(payload.replace('"livemode":false', '"livemode":true'), { 'Stripe-Signature': header }),
      await post(`${payload} `, { 'Stripe-Signature': header }),
      await post(payload, { 'Stripe-Signature': 'v1=deadbeef' }),
      await post(payload, {}),
    ];
    for (const res of refused) await expectProblem(res, 400, 'invalid_signature');
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'requires_action' });
    expect(await receiptsOf(payment.id)).toStrictEqual([]);
  });

  it('gives every refusal the same detail', async () => {
    const event = stripeEvent('payment_intent.succeeded', {});
    const details = await Promise.all(
      [deliver(event, { secret: 'whsec_x' }), deliver(event, { headers: { 'Stripe-Signature': 't=1' } })].map(
        async (res) => ((await (await res).json()) as { detail: string }).detail,
      ),
    );
    expect(details).toStrictEqual([
      'The Stripe-Signature header does not verify.',
      'The Stripe-Signature header does not verify.',
    ]);
  });

  it('refuses a correctly signed event whose timestamp is stale, changing nothing', async () => {
    const payment = await confirmedByShopper();
    const event = stripeEvent('payment_intent.amount_capturable_updated', intentOf(payment.providerRef));
    const res = await deliver(event, { timestamp: Math.floor(Date.now() / 1000) - 600 });
    await expectProblem(res, 400, 'signature_expired');
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'requires_action' });
  });

  it('refuses a signed body that is not a Stripe event', async () => {
    await expectProblem(await deliver({ hello: 'world' }), 400, 'invalid_event');
    await expectProblem(
      await deliver(stripeEvent('payment_intent.succeeded', { id: 'pi_x', object: 'payment_intent' })),
      400,
      'invalid_event',
    );
  });

  it('answers 500 (so Stripe retries) when no signing secret is configured', async () => {
    const event = stripeEvent('payment_intent.succeeded', {});
    const payload = new TextEncoder().encode(JSON.stringify(event));
    const noSecret = { ...env, STRIPE_WEBHOOK_SECRET: '' };
    await expect(
      receiveStripeWebhook(db, noSecret, staff(), {
        payload,
        signature: await signature(JSON.stringify(event)),
      }),
    ).rejects.toThrow('STRIPE_WEBHOOK_SECRET is not set');
  });
});

describe('each event once', () => {
  it('answers a redelivered event 200 duplicate and changes nothing', async () => {
    const payment = await confirmedByShopper();
    const event = stripeEvent('payment_intent.amount_capturable_updated', intentOf(payment.providerRef));
    await expectResult(await deliver(event), event.id, 'processed');
    const after = await storedPayment(payment.id);
    const events = await eventsOf(payment.id);
    for (let i = 0; i < 3; i++) await expectResult(await deliver(event), event.id, 'duplicate');
    expect(await storedPayment(payment.id)).toStrictEqual(after);
    expect(await eventsOf(payment.id)).toStrictEqual(events);
    expect(await receiptsOf(payment.id)).toHaveLength(1);
  });

  it('applies one of two concurrent deliveries of the same event', async () => {
    const payment = await confirmedByShopper();
    const event = stripeEvent('payment_intent.amount_capturable_updated', intentOf(payment.providerRef));
    const answers = await Promise.all([deliver(event), deliver(event), deliver(event)]);
    const results = await Promise.all(
      answers.map(async (r) => ((await r.json()) as { result: string }).result),
    );
    expect(results.sort()).toStrictEqual(['duplicate', 'duplicate', 'processed']);
    expect((await eventsOf(payment.id)).map((e) => e.type)).toStrictEqual([
      'payment.created',
      'payment.authorized',
    ]);
    expect(await receiptsOf(payment.id)).toHaveLength(1);
  });

  it('ignores event types it does not act on, and payments that are not ours, recording nothing', async () => {
    const payment = await confirmedByShopper();
    const unknownType = stripeEvent('customer.created', { id: 'cus_1', object: 'customer' });
    await expectResult(await deliver(unknownType), unknownType.id, 'ignored');
    const notOurs = stripeEvent('payment_intent.succeeded', {
      ...intentOf(payment.providerRef),
      id: 'pi_elsewhere',
    });
    await expectResult(await deliver(notOurs), notOurs.id, 'ignored');
    const noIntent = stripeEvent('charge.refunded', {
      id: 'ch_1',
      object: 'charge',
      payment_intent: null,
      currency: 'eur',
      amount_captured: 100,
      amount_refunded: 100,
    });
    await expectResult(await deliver(noIntent), noIntent.id, 'ignored');
    expect(
      await env.DB.prepare('SELECT COUNT(*) AS n FROM payment_provider_events WHERE event_id IN (?, ?, ?)')
        .bind(unknownType.id, notOurs.id, noIntent.id)
        .first('n'),
    ).toBe(0);
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'requires_action' });
  });

  it('ignores news a payment is already past (webhooks arrive out of order)', async () => {
    const payment = await confirmedByShopper();
    const authorizedSnapshot = structuredClone(intentOf(payment.providerRef));
    stripe.intents.set(payment.providerRef, {
      ...(authorizedSnapshot as NonNullable<typeof authorizedSnapshot>),
      status: 'succeeded',
      amount_received: 4200,
    });
    const succeeded = stripeEvent('payment_intent.succeeded', intentOf(payment.providerRef));
    await expectResult(await deliver(succeeded), succeeded.id, 'processed');
    const late = stripeEvent('payment_intent.amount_capturable_updated', authorizedSnapshot);
    await expectResult(await deliver(late), late.id, 'ignored');
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'captured', amount_captured: 4200 });
  });
});

describe('effects', () => {
  it('records a failed attempt, then the authorization of the next one', async () => {
    const payment = await confirmedByShopper('pm_card_chargeDeclined');
    const failed = stripeEvent('payment_intent.payment_failed', intentOf(payment.providerRef));
    await expectResult(await deliver(failed), failed.id, 'processed');
    expect(await storedPayment(payment.id)).toMatchObject({
      status: 'failed',
      failure_code: 'generic_decline',
    });
    stripe.confirm(payment.providerRef, 'pm_card_visa');
    const authorized = stripeEvent('payment_intent.amount_capturable_updated', intentOf(payment.providerRef));
    await expectResult(await deliver(authorized), authorized.id, 'processed');
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'authorized', failure_code: null });
  });

  it('records a capture and a cancellation made in Stripe’s dashboard', async () => {
    const captured = await confirmedByShopper();
    Object.assign(intentOf(captured.providerRef) ?? {}, { status: 'succeeded', amount_received: 3000 });
    const succeeded = stripeEvent(
      'payment_intent.succeeded',
      intentOf(captured.providerRef),
      'dashboard-key',
    );
    await expectResult(await deliver(succeeded), succeeded.id, 'processed');
    expect(await storedPayment(captured.id)).toMatchObject({ status: 'captured', amount_captured: 3000 });

    const canceled = await confirmedByShopper();
    Object.assign(intentOf(canceled.providerRef) ?? {}, { status: 'canceled' });
    const event = stripeEvent('payment_intent.canceled', intentOf(canceled.providerRef));
    await expectResult(await deliver(event), event.id, 'processed');
    expect(await storedPayment(canceled.id)).toMatchObject({ status: 'voided' });
    expect((await eventsOf(canceled.id)).map((e) => e.type)).toStrictEqual([
      'payment.created',
      'payment.voided',
    ]);
  });

  it('records refunds made in Stripe’s dashboard from charge.refunded', async () => {
    const payment = await capturedStripePayment();
    stripe.refundInDashboard(payment.providerRef, 1500);
    const partial = stripeEvent('charge.refunded', stripe.charge(payment.providerRef));
    await expectResult(await deliver(partial), partial.id, 'processed');
    expect(await storedPayment(payment.id)).toMatchObject({
      status: 'partially_refunded',
      amount_refunded: 1500,
    });
    stripe.refundInDashboard(payment.providerRef, 2700);
    const full = stripeEvent('charge.refunded', stripe.charge(payment.providerRef));
    await expectResult(await deliver(full), full.id, 'processed');
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'refunded', amount_refunded: 4200 });
    await expectResult(await deliver(partial), partial.id, 'duplicate');
    expect((await eventsOf(payment.id)).map((e) => e.type)).toStrictEqual([
      'payment.authorized',
      'payment.captured',
      'payment.partially_refunded',
      'payment.refunded',
    ]);
  });
});

describe('events caused by edgecart’s own calls', () => {
  it('record a capture, with its one event, when they arrive before the capture’s batch, which then writes nothing', async () => {
    const { payment } = await createPayment('stripe', { paymentMethod: 'pm_card_visa' });
    const capture = await capturePayment(db, env, staff(), { paymentId: payment.id, idempotencyKey: key() });
    const ownKey =
      stripe.lastRequest(`/payment_intents/${payment.providerRef}/capture`).headers['idempotency-key'] ?? '';
    const event = stripeEvent('payment_intent.succeeded', intentOf(payment.providerRef), ownKey);
    await expectResult(await deliver(event), event.id, 'processed');
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'captured', amount_captured: 4200 });
    await commitWrites(staff(), capture.writes);
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'captured', amount_captured: 4200 });
    expect((await eventsOf(payment.id)).map((e) => e.type)).toStrictEqual([
      'payment.authorized',
      'payment.captured',
    ]);
  });

  it('do not count a refund twice when charge.refunded arrives before the refund’s batch', async () => {
    const payment = await capturedStripePayment();
    const refund = await refundInFlight(payment.id, 1000);
    const ownKey = stripe.lastRequest('/refunds').headers['idempotency-key'] ?? '';
    const event = stripeEvent('charge.refunded', stripe.charge(payment.providerRef), ownKey);
    await expectResult(await deliver(event), event.id, 'processed');
    await commitWrites(staff(), refund.writes);
    expect(await storedPayment(payment.id)).toMatchObject({
      status: 'partially_refunded',
      amount_refunded: 1000,
    });
    expect((await eventsOf(payment.id)).map((e) => e.type)).toStrictEqual([
      'payment.authorized',
      'payment.captured',
      'payment.partially_refunded',
    ]);
  });
});

describe('refunds made in Stripe’s dashboard beside edgecart’s', () => {
  it('are recorded once by Stripe’s id; an edgecart refund whose batch is pending is recorded for its batch to claim', async () => {
    const payment = await capturedStripePayment();
    // Staff's refund has reached Stripe, its batch not D1, when a dashboard refund's event arrives.
    const refund = await refundInFlight(payment.id, 1000);
    const dashboard = stripe.refundInDashboard(payment.providerRef, 500);
    const event = stripeEvent('charge.refunded', stripe.charge(payment.providerRef));
    await expectResult(await deliver(event), event.id, 'processed');
    const claims = (paymentId: string) =>
      rows(
        'SELECT amount, provider_ref, provider_key, claimed_at IS NOT NULL AS claimed FROM refunds WHERE payment_id = ? ORDER BY amount',
        paymentId,
      );
    const ownKey = refund.refund.providerKey;
    expect(await claims(payment.id)).toStrictEqual([
      { amount: 500, provider_ref: dashboard.id, provider_key: null, claimed: 1 },
      { amount: 1000, provider_ref: refund.refund.providerRef, provider_key: ownKey, claimed: 0 },
    ]);
    // The payment says what Stripe returned; only the dashboard refund has its event (the batch raises its own).
    expect(await storedPayment(payment.id)).toMatchObject({ amount_refunded: 1500 });
    expect((await eventsOf(payment.id)).map((e) => [e.type, e.payload.amount_refunded])).toStrictEqual([
      ['payment.authorized', 0],
      ['payment.captured', 0],
      ['payment.partially_refunded', 1500],
    ]);
    await commitWrites(staff(), refund.writes);
    await expectResult(await deliver(event), event.id, 'duplicate');
    expect(await storedPayment(payment.id)).toMatchObject({
      status: 'partially_refunded',
      amount_refunded: 1500,
    });
    expect(await claims(payment.id)).toStrictEqual([
      { amount: 500, provider_ref: dashboard.id, provider_key: null, claimed: 1 },
      { amount: 1000, provider_ref: refund.refund.providerRef, provider_key: ownKey, claimed: 1 },
    ]);
    // The claimed row is the batch's refund, under its id (its creation the report's).
    expect(await refundsOfPayment(db, payment.id)).toContainEqual({
      ...refund.refund,
      createdAt: expect.any(Date),
    });
  });
});

// Before migration 0032 the report of edgecart's own refund (quiet) raised the payment's refunded amount without a
// row; a refund whose batch was then lost left the payment counting money no row records. The design says such a
// payment is made whole by the next report, which lists and records the missing refund: recorded, it must not be
// counted a second time on top of the amount the old report already raised.
describe('a payment the previous Worker counted a refund on without its row', () => {
  it('says what Stripe returned once the next report records that refund, and refunds the rest', async () => {
    const payment = await capturedStripePayment();
    // The previous Worker's refund (its mark, no edgecart_key), whose batch was lost after its quiet report.
    const old = stripe.refundInDashboard(payment.providerRef, 3000);
    old.metadata = { edgecart: 'refund' };
    await env.DB.prepare(
      "UPDATE payments SET amount_refunded = 3000, status = 'partially_refunded' WHERE id = ?",
    )
      .bind(payment.id)
      .run();
    // After the deploy, staff refund 700 in Stripe's dashboard.
    stripe.refundInDashboard(payment.providerRef, 700);
    const event = stripeEvent('charge.refunded', stripe.charge(payment.providerRef));
    await expectResult(await deliver(event), event.id, 'processed');
    expect(await storedPayment(payment.id)).toMatchObject({
      status: 'partially_refunded',
      amount_refunded: 3700,
    });
    // What Stripe has left (500) can still be refunded through edgecart.
    const rest = await refundPayment(db, env, staff(), {
      paymentId: payment.id,
      amount: 500,
      reason: null,
      idempotencyKey: key(),
    });
    await commitWrites(staff(), rest.writes);
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'refunded', amount_refunded: 4200 });
  });
});

describe('listing a charge’s refunds from Stripe', () => {
  it('reads a refund without metadata as the dashboard’s, and one without a status as returning nothing', async () => {
    const payment = await capturedStripePayment();
    // Stripe documents both as nullable.
    Object.assign(stripe.refundInDashboard(payment.providerRef, 300), { status: null, metadata: null });
    const dashboard = Object.assign(stripe.refundInDashboard(payment.providerRef, 500), { metadata: null });
    const event = stripeEvent('charge.refunded', stripe.charge(payment.providerRef));
    await expectResult(await deliver(event), event.id, 'processed');
    expect(await refundRows(payment.id)).toStrictEqual([{ amount: 500, provider_ref: dashboard.id }]);
    expect(await storedPayment(payment.id)).toMatchObject({
      status: 'partially_refunded',
      amount_refunded: 500,
    });
  });

  /**
   * A dashboard refund's event delivered while Stripe answers the refunds listing with `listing`: the answer is
   * returned after checking it recorded nothing, and that the redelivery, with Stripe answering again, applies.
   */
  async function deliveredWhileListing(listing: () => Response): Promise<Response> {
    const payment = await capturedStripePayment();
    stripe.refundInDashboard(payment.providerRef, 500);
    const event = stripeEvent('charge.refunded', stripe.charge(payment.providerRef));
    const answerOf = stripe.handle.bind(stripe);
    const listingAnswered = vi
      .spyOn(stripe, 'handle')
      .mockImplementation(async (request, signal) =>
        new URL(request.url).pathname === '/v1/refunds' ? listing() : answerOf(request, signal),
      );
    const first = await deliver(event);
    listingAnswered.mockRestore();
    await expectProblem(first.clone(), 503, 'payment_unavailable');
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'captured', amount_refunded: 0 });
    expect(await receiptsOf(payment.id)).toStrictEqual([]);
    expect(await refundRows(payment.id)).toStrictEqual([]);
    await expectResult(await deliver(event), event.id, 'processed');
    expect(await storedPayment(payment.id)).toMatchObject({ amount_refunded: 500 });
    return first;
  }

  it('answers 503 when Stripe refuses to list them, recording nothing; the redelivery applies', async () => {
    // A restricted key without read access to refunds, say.
    await deliveredWhileListing(() =>
      Response.json(
        { error: { type: 'invalid_request_error', message: 'The provided key does not have access' } },
        { status: 403 },
      ),
    );
  });

  it('answers 503 while Stripe’s list has not caught up with the event, recording nothing; the redelivery applies', async () => {
    const behind = await deliveredWhileListing(() =>
      Response.json({ object: 'list', data: [], has_more: false, url: '/v1/refunds' }),
    );
    expect(behind.headers.get('Retry-After')).toBe('10');
  });

  it('answers a redelivered event duplicate without asking Stripe, even while Stripe is down', async () => {
    const payment = await capturedStripePayment();
    stripe.refundInDashboard(payment.providerRef, 500);
    const event = stripeEvent('charge.refunded', stripe.charge(payment.providerRef));
    await expectResult(await deliver(event), event.id, 'processed');
    stripe.behaviour = 'fail';
    const asked = stripe.requests.length;
    await expectResult(await deliver(event), event.id, 'duplicate');
    expect(stripe.requests).toHaveLength(asked);
    expect(await storedPayment(payment.id)).toMatchObject({ amount_refunded: 500 });
  });
});

describe('transport', () => {
  it('gives no CORS answer on the hook, even to an allowed origin', async () => {
    const event = stripeEvent('customer.created', { id: 'cus_1' });
    const res = await deliver(event, { headers: { Origin: 'https://shop.test' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull();
    const preflight = await call('/v1/hooks/stripe', {
      method: 'OPTIONS',
      headers: { Origin: 'https://shop.test', 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.headers.get('Access-Control-Allow-Origin')).toBeNull();
    expect(preflight.status).toBe(405);
  });

  it('applies the body limit and the JSON-only rule before the signature check', async () => {
    const big = JSON.stringify({ padding: 'x'.repeat(Number(env.MAX_BODY_BYTES)) });
    const tooLarge = await call('/v1/hooks/stripe', {
      method: 'POST',
      body: big,
      headers: { 'Content-Type': 'application/json', 'Stripe-Signature': await signature(big) },
    });
    expect(tooLarge.status).toBe(413);
    const notJson = await call('/v1/hooks/stripe', {
      method: 'POST',
      body: 'a=b',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'Stripe-Signature': await signature('a=b'),
      },
    });
    expect(notJson.status).toBe(415);
  });
});

describe('settlement seam: the webhook racing the storefront’s confirmation', () => {
  async function deliverWithOrderSide(event: ReturnType<typeof stripeEvent>) {
    const payload = JSON.stringify(event);
    return receiveStripeWebhook(
      db,
      env,
      { ...staff(), actor: { type: 'system', id: 'stripe-webhook' } },
      {
        payload: new TextEncoder().encode(payload),
        signature: await signature(payload),
        onPaymentSettled: markStandInOrderPaid,
      },
    );
  }

  async function pendingOrderWithConfirmedPayment() {
    const orderId = `ord_${crypto.randomUUID()}`;
    await insertPendingOrder(orderId);
    const { payment } = await createPayment('stripe', { orderId });
    stripe.confirm(payment.providerRef);
    return { orderId, payment };
  }

  it('marks the order paid in the webhook’s batch', async () => {
    const { orderId, payment } = await pendingOrderWithConfirmedPayment();
    const event = stripeEvent('payment_intent.amount_capturable_updated', intentOf(payment.providerRef));
    expect(await deliverWithOrderSide(event)).toStrictEqual({ event_id: event.id, result: 'processed' });
    expect(await orderStatus(orderId)).toBe('paid');
    expect(await eventsOf(orderId)).toStrictEqual([standInOrderPaid(orderId, payment, 'webhook')]);
    expect(await deliverWithOrderSide(event)).toStrictEqual({ event_id: event.id, result: 'duplicate' });
    expect(await eventsOf(orderId)).toHaveLength(1);
  });

  it('settles once whichever comes first, and when both run at the same time', async () => {
    for (const order of ['webhook first', 'confirmation first', 'together'] as const) {
      for (let round = 0; round < 3; round++) {
        const { orderId, payment } = await pendingOrderWithConfirmedPayment();
        const event = stripeEvent('payment_intent.amount_capturable_updated', intentOf(payment.providerRef));
        const webhook = () => deliverWithOrderSide(event);
        const confirmation = () =>
          syncPayment(db, env, guest(), { paymentId: payment.id, onPaymentSettled: markStandInOrderPaid });
        if (order === 'webhook first') {
          await webhook();
          await confirmation();
        } else if (order === 'confirmation first') {
          await confirmation();
          await webhook();
        } else {
          await Promise.all([webhook(), confirmation()]);
        }
        expect(await orderStatus(orderId), order).toBe('paid');
        expect(
          (await eventsOf(orderId)).map((e) => e.type),
          order,
        ).toStrictEqual(['order.paid']);
        expect(
          (await eventsOf(payment.id)).map((e) => e.type),
          order,
        ).toStrictEqual(['payment.created', 'payment.authorized']);
        expect(await storedPayment(payment.id), order).toMatchObject({ status: 'authorized' });
      }
    }
  });

  /**
   * The confirmation runs to completion between the webhook's read and its batch (inside the webhook's
   * `onPaymentSettled`, which is called in that window), so the race is the same on every run.
   */
  async function webhookOvertakenByConfirmation(event: ReturnType<typeof stripeEvent>, paymentId: string) {
    let overtaken = false;
    const payload = JSON.stringify(event);
    return receiveStripeWebhook(db, env, staff(), {
      payload: new TextEncoder().encode(payload),
      signature: await signature(payload),
      onPaymentSettled: async (database, settled, when, caller) => {
        if (!overtaken) {
          overtaken = true;
          await syncPayment(db, env, guest(), { paymentId, onPaymentSettled: markStandInOrderPaid });
        }
        return markStandInOrderPaid(database, settled, when, caller);
      },
    });
  }

  it('writes nothing from a webhook batch whose payment was settled after it read it', async () => {
    const { orderId, payment } = await pendingOrderWithConfirmedPayment();
    const event = stripeEvent('payment_intent.amount_capturable_updated', intentOf(payment.providerRef));
    expect(await webhookOvertakenByConfirmation(event, payment.id)).toStrictEqual({
      event_id: event.id,
      result: 'ignored',
    });
    expect(await eventsOf(orderId)).toStrictEqual([standInOrderPaid(orderId, payment, 'confirmation')]);
    expect((await eventsOf(payment.id)).map((e) => e.type)).toStrictEqual([
      'payment.created',
      'payment.authorized',
    ]);
    expect(await receiptsOf(payment.id)).toStrictEqual([]);
  });

  it('reads again and applies what is left when the payment changed under the webhook', async () => {
    const { orderId, payment } = await pendingOrderWithConfirmedPayment();
    Object.assign(intentOf(payment.providerRef) ?? {}, { status: 'succeeded', amount_received: 4200 });
    const captured = stripeEvent('payment_intent.succeeded', intentOf(payment.providerRef));
    // The event carries the capture; the confirmation, asking Stripe a moment earlier, saw the authorization.
    Object.assign(intentOf(payment.providerRef) ?? {}, { status: 'requires_capture', amount_received: 0 });
    expect(await webhookOvertakenByConfirmation(captured, payment.id)).toStrictEqual({
      event_id: captured.id,
      result: 'processed',
    });
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'captured', amount_captured: 4200 });
    expect((await eventsOf(payment.id)).map((e) => e.type)).toStrictEqual([
      'payment.created',
      'payment.authorized',
      'payment.captured',
    ]);
    expect((await eventsOf(orderId)).map((e) => [e.type, e.payload.via])).toStrictEqual([
      ['order.paid', 'confirmation'],
    ]);
    expect(await receiptsOf(payment.id)).toStrictEqual([
      { event_id: captured.id, type: 'payment_intent.succeeded' },
    ]);
  });

  it('never marks an order paid on a report that does not settle the payment', async () => {
    const orderId = `ord_${crypto.randomUUID()}`;
    await insertPendingOrder(orderId);
    const { payment } = await createPayment('stripe', { orderId });
    stripe.confirm(payment.providerRef, 'pm_card_chargeDeclined');
    const failed = stripeEvent('payment_intent.payment_failed', intentOf(payment.providerRef));
    expect((await deliverWithOrderSide(failed)).result).toBe('processed');
    expect(await orderStatus(orderId)).toBe('pending_payment');
    expect(await eventsOf(orderId)).toStrictEqual([]);
  });
});
