/**
 * A refund Stripe reports failed or canceled after edgecart recorded it as returning money (some payment methods'
 * refunds are `pending` for days), through POST /v1/hooks/stripe with events signed as Stripe signs them: the
 * refund row, the payment's refunded amount and status, the `payment.refund_failed` event and audit entry, once
 * per refund; 503 while the refund has no row yet; a payment changed under the report.
 */
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { createDb } from '../../src/lib/db';
import { refundPayment } from '../../src/modules/payments/service';
import { receiveStripeWebhook } from '../../src/modules/payments/webhook-service';
import { rows } from '../helpers/admin-fixtures';
import { writeLandsBeforeBatch } from '../helpers/concurrent-write';
import { deliver, FakeStripe, refundEvent, signature, stripeEvent } from '../helpers/fake-stripe';
import { expectProblem } from '../helpers/http';
import {
  auditOf,
  capturedStripePayment,
  commitWrites,
  db,
  eventsOf,
  receiptsOf,
  refundInFlight,
  staff,
  storedPayment,
} from '../helpers/payments';

const stripe = new FakeStripe();
stripe.install();

beforeEach(() => {
  stripe.behaviour = 'serve';
  stripe.refundStatus = 'pending';
});

const key = () => crypto.randomUUID();

async function expectResult(res: Response, eventId: string, result: string): Promise<void> {
  expect(res.status).toBe(200);
  expect(await res.json()).toStrictEqual({ event_id: eventId, result });
}

/** A payment's refund rows, oldest first. */
const refundRows = (paymentId: string) =>
  env.DB.prepare(
    'SELECT amount, provider_ref, status FROM refunds WHERE payment_id = ? ORDER BY created_at, rowid',
  )
    .bind(paymentId)
    .all()
    .then((r) => r.results);

/** Staff's refund of `amount` through edgecart, committed; Stripe answers it with the test's `refundStatus`. */
async function refundedByStaff(paymentId: string, amount: number) {
  const result = await refundPayment(db, env, staff(), {
    paymentId,
    amount,
    reason: 'damaged',
    idempotencyKey: key(),
  });
  await commitWrites(staff(), result.writes);
  return result.refund;
}

/** `event` delivered to the webhook service with `env`'s bindings (a write forced into its batch), as the route does. */
async function receivedWith(env: Env, event: { id: string }) {
  const payload = JSON.stringify(event);
  return receiveStripeWebhook(
    createDb(env.DB),
    env,
    { ...staff(), actor: { type: 'system', id: 'stripe-webhook' } },
    { payload: new TextEncoder().encode(payload), signature: await signature(payload) },
  );
}

const lastStripeRefund = () => {
  const refund = stripe.refunds.at(-1);
  if (!refund) throw new Error('no refund');
  return refund;
};

describe('a pending refund Stripe fails later', () => {
  it('comes back off the payment, with its event and audit entry; its redelivery is a duplicate', async () => {
    const payment = await capturedStripePayment();
    const refund = await refundedByStaff(payment.id, 4200);
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'refunded', amount_refunded: 4200 });

    const failed = refundEvent('refund.failed', stripe.failRefund(refund.providerRef));
    await expectResult(await deliver(failed), failed.id, 'processed');

    const stored = await storedPayment(payment.id);
    expect(stored).toMatchObject({ status: 'captured', amount_captured: 4200, amount_refunded: 0 });
    expect(await refundRows(payment.id)).toStrictEqual([
      { amount: 4200, provider_ref: refund.providerRef, status: 'failed' },
    ]);
    const events = await eventsOf(payment.id);
    expect(events.map((e) => e.type)).toStrictEqual([
      'payment.authorized',
      'payment.captured',
      'payment.refunded',
      'payment.refund_failed',
    ]);
    expect(events.at(-1)?.payload).toStrictEqual({
      id: payment.id,
      order_id: null,
      cart_id: payment.cartId,
      provider: 'stripe',
      provider_ref: payment.providerRef,
      status: 'captured',
      amount: 4200,
      currency: 'EUR',
      amount_captured: 4200,
      amount_refunded: 0,
      failure_code: null,
      created_at: payment.createdAt.toISOString(),
      updated_at: new Date(stored.updated_at).toISOString(),
      refund: {
        id: refund.id,
        payment_id: payment.id,
        amount: 4200,
        reason: 'damaged',
        provider_ref: refund.providerRef,
        status: 'failed',
        created_at: refund.createdAt.toISOString(),
        failure_reason: 'expired_or_canceled_card',
      },
    });
    const audit = await auditOf(payment.id);
    expect(audit.at(-1)).toStrictEqual({
      action: 'payment.refund_failed',
      actor_id: 'stripe-webhook',
      changes: {
        refund: {
          id: refund.id,
          amount: 4200,
          provider_ref: refund.providerRef,
          status: 'failed',
          failure_reason: 'expired_or_canceled_card',
        },
        row: {
          status: { from: 'refunded', to: 'captured' },
          amount_refunded: { from: 4200, to: 0 },
        },
      },
    });
    expect(await receiptsOf(payment.id)).toStrictEqual([{ event_id: failed.id, type: 'refund.failed' }]);

    // Redelivered, and reported again by another of Stripe's events for the same Refund: nothing more.
    await expectResult(await deliver(failed), failed.id, 'duplicate');
    const updated = refundEvent('charge.refund.updated', lastStripeRefund());
    await expectResult(await deliver(updated), updated.id, 'duplicate');
    expect(await storedPayment(payment.id)).toStrictEqual(stored);
    expect(await eventsOf(payment.id)).toHaveLength(4);
    expect(await auditOf(payment.id)).toStrictEqual(audit);
    expect(await receiptsOf(payment.id)).toStrictEqual([{ event_id: failed.id, type: 'refund.failed' }]);
  });

  it('leaves staff free to refund that money again', async () => {
    const payment = await capturedStripePayment();
    const refund = await refundedByStaff(payment.id, 4200);
    const failed = refundEvent('refund.failed', stripe.failRefund(refund.providerRef));
    await expectResult(await deliver(failed), failed.id, 'processed');

    stripe.refundStatus = 'succeeded';
    const again = await refundedByStaff(payment.id, 4200);
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'refunded', amount_refunded: 4200 });
    expect(await refundRows(payment.id)).toStrictEqual([
      { amount: 4200, provider_ref: refund.providerRef, status: 'failed' },
      { amount: 4200, provider_ref: again.providerRef, status: 'succeeded' },
    ]);
  });

  it('takes off only its own amount: a refund canceled beside one that went through leaves it counted', async () => {
    const payment = await capturedStripePayment();
    stripe.refundStatus = 'succeeded';
    await refundedByStaff(payment.id, 1000);
    stripe.refundStatus = 'pending';
    const pending = await refundedByStaff(payment.id, 2000);
    expect(await storedPayment(payment.id)).toMatchObject({ amount_refunded: 3000 });

    const canceled = refundEvent('refund.updated', stripe.failRefund(pending.providerRef, 'canceled'));
    await expectResult(await deliver(canceled), canceled.id, 'processed');
    expect(await storedPayment(payment.id)).toMatchObject({
      status: 'partially_refunded',
      amount_refunded: 1000,
    });
    const [event] = (await eventsOf(payment.id)).slice(-1);
    expect(event?.type).toBe('payment.refund_failed');
    expect(event?.payload.refund).toMatchObject({ status: 'canceled', failure_reason: null });
  });

  it('applies to a refund made in Stripe’s dashboard, recorded from charge.refunded', async () => {
    const payment = await capturedStripePayment();
    const dashboard = stripe.refundInDashboard(payment.providerRef, 1500);
    const refunded = stripeEvent('charge.refunded', stripe.charge(payment.providerRef));
    await expectResult(await deliver(refunded), refunded.id, 'processed');
    expect(await storedPayment(payment.id)).toMatchObject({ amount_refunded: 1500 });

    const failed = refundEvent('charge.refund.updated', stripe.failRefund(dashboard.id));
    await expectResult(await deliver(failed), failed.id, 'processed');
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'captured', amount_refunded: 0 });
    expect(await refundRows(payment.id)).toStrictEqual([
      { amount: 1500, provider_ref: dashboard.id, status: 'failed' },
    ]);
    expect(await receiptsOf(payment.id)).toStrictEqual([
      { event_id: refunded.id, type: 'charge.refunded' },
      { event_id: failed.id, type: 'charge.refund.updated' },
    ]);
  });
});

describe('a dashboard refund that fails before its charge.refunded is processed', () => {
  it('is recorded failed at once, counting nowhere; the charge.refunded that lists it later counts nothing', async () => {
    const payment = await capturedStripePayment();
    const dashboard = stripe.refundInDashboard(payment.providerRef, 700);
    const refunded = stripeEvent('charge.refunded', stripe.charge(payment.providerRef));
    const failed = refundEvent('refund.failed', stripe.failRefund(dashboard.id));
    await expectResult(await deliver(failed), failed.id, 'processed');
    await expectResult(await deliver(failed), failed.id, 'duplicate');
    expect(await refundRows(payment.id)).toStrictEqual([
      { amount: 700, provider_ref: dashboard.id, status: 'failed' },
    ]);
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'captured', amount_refunded: 0 });
    expect((await eventsOf(payment.id)).map((e) => e.type)).toStrictEqual([
      'payment.authorized',
      'payment.captured',
    ]);
    const [audit] = await rows(
      "SELECT actor_id, changes FROM audit_log WHERE target_id = ? AND action = 'payment.refund_failed'",
      payment.id,
    );
    expect(audit?.actor_id).toBe('stripe-webhook');
    expect(JSON.parse(String(audit?.changes)).refund).toMatchObject({
      amount: 700,
      provider_ref: dashboard.id,
      status: 'failed',
    });

    // Stripe's list lags behind its failure: it still says pending. The row is there, so nothing is counted.
    Object.assign(dashboard, { status: 'pending' });
    await expectResult(await deliver(refunded), refunded.id, 'ignored');
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'captured', amount_refunded: 0 });
    expect(await refundRows(payment.id)).toHaveLength(1);
  });

  // The failure reads no row; the charge.refunded (its list lagging: pending) records the refund, counted, between that
  // read and the failure's batch. The failure must still be applied (read again: the row is there now), not answered
  // `duplicate`: Stripe does not send an answered event again, so the refund would stay counted for good.
  it('is applied when the charge.refunded records the refund between the failure’s read and its batch', async () => {
    const payment = await capturedStripePayment();
    const dashboard = stripe.refundInDashboard(payment.providerRef, 700);
    const refunded = stripeEvent('charge.refunded', stripe.charge(payment.providerRef));
    const failed = refundEvent('refund.failed', stripe.failRefund(dashboard.id));
    const reportLands = async () => {
      Object.assign(dashboard, { status: 'pending' });
      await expectResult(await deliver(refunded), refunded.id, 'processed');
      Object.assign(dashboard, { status: 'failed' });
    };
    const raced = writeLandsBeforeBatch('refunds', reportLands, 'insert into');
    const result = await receivedWith(raced, failed);

    expect(result).toStrictEqual({ event_id: failed.id, result: 'processed' });
    expect(await refundRows(payment.id)).toStrictEqual([
      { amount: 700, provider_ref: dashboard.id, status: 'failed' },
    ]);
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'captured', amount_refunded: 0 });
    expect(await receiptsOf(payment.id)).toStrictEqual([
      { event_id: refunded.id, type: 'charge.refunded' },
      { event_id: failed.id, type: 'refund.failed' },
    ]);
  });
});

describe('a report of edgecart’s own refund older than its failure', () => {
  it('does not count the failed refund again (its cumulative amount still holds it)', async () => {
    const payment = await capturedStripePayment();
    const refund = await refundedByStaff(payment.id, 1000);
    const ownKey = stripe.lastRequest('/refunds').headers['idempotency-key'] ?? '';
    // Stripe's charge.refunded for the refund, sent while it was pending, is delivered after its failure.
    const late = stripeEvent('charge.refunded', stripe.charge(payment.providerRef), ownKey);
    const failed = refundEvent('refund.failed', stripe.failRefund(refund.providerRef));
    await expectResult(await deliver(failed), failed.id, 'processed');
    const stored = await storedPayment(payment.id);

    await expectResult(await deliver(late), late.id, 'ignored');
    expect(await storedPayment(payment.id)).toStrictEqual(stored);
    expect(stored).toMatchObject({ status: 'captured', amount_refunded: 0 });
    expect(await receiptsOf(payment.id)).toStrictEqual([{ event_id: failed.id, type: 'refund.failed' }]);
  });
});

describe('a report of a refund edgecart has not recorded yet', () => {
  it('answers 503 with Retry-After, changing nothing; the redelivery after the refund’s batch applies', async () => {
    const payment = await capturedStripePayment();
    // Staff's refund has reached Stripe; its batch has not reached D1 when Stripe reports it failed.
    const refund = await refundInFlight(payment.id, 1000);
    const failed = refundEvent('refund.failed', stripe.failRefund(refund.refund.providerRef));
    const res = await deliver(failed);
    expect(res.headers.get('Retry-After')).toBe('10');
    await expectProblem(res, 503, 'payment_unavailable');
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'captured', amount_refunded: 0 });
    expect(await receiptsOf(payment.id)).toStrictEqual([]);

    await commitWrites(staff(), refund.writes);
    expect(await storedPayment(payment.id)).toMatchObject({ amount_refunded: 1000 });
    await expectResult(await deliver(failed), failed.id, 'processed');
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'captured', amount_refunded: 0 });
    expect(await refundRows(payment.id)).toStrictEqual([
      { amount: 1000, provider_ref: refund.refund.providerRef, status: 'failed' },
    ]);
  });
});

describe('a report of an edgecart refund only its charge.refunded recorded', () => {
  it('answers 503 while the row is unclaimed (the order has not counted it); applies once the batch claims it', async () => {
    const payment = await capturedStripePayment();
    // Staff's refund has reached Stripe and been reported; its batch has not reached D1 when Stripe fails it.
    const refund = await refundInFlight(payment.id, 1000);
    const ownKey = stripe.lastRequest('/refunds').headers['idempotency-key'] ?? '';
    const reported = stripeEvent('charge.refunded', stripe.charge(payment.providerRef), ownKey);
    await expectResult(await deliver(reported), reported.id, 'processed');
    const unclaimed = await storedPayment(payment.id);
    expect(unclaimed).toMatchObject({ status: 'partially_refunded', amount_refunded: 1000 });
    const failed = refundEvent('refund.failed', stripe.failRefund(refund.refund.providerRef));
    const res = await deliver(failed);
    expect(res.headers.get('Retry-After')).toBe('10');
    await expectProblem(res, 503, 'payment_unavailable');
    expect(await storedPayment(payment.id)).toStrictEqual(unclaimed);
    expect(await receiptsOf(payment.id)).toStrictEqual([{ event_id: reported.id, type: 'charge.refunded' }]);

    await commitWrites(staff(), refund.writes);
    await expectResult(await deliver(failed), failed.id, 'processed');
    expect(await storedPayment(payment.id)).toMatchObject({ status: 'captured', amount_refunded: 0 });
    expect(await refundRows(payment.id)).toStrictEqual([
      { amount: 1000, provider_ref: refund.refund.providerRef, status: 'failed' },
    ]);
  });
});

describe('Refund events that report no failure', () => {
  it('are ignored, recording nothing: another status, another PaymentIntent, none', async () => {
    const payment = await capturedStripePayment();
    const refund = await refundedByStaff(payment.id, 1000);
    const pending = refundEvent('refund.updated', lastStripeRefund());
    await expectResult(await deliver(pending), pending.id, 'ignored');
    const succeeded = refundEvent('refund.updated', { ...lastStripeRefund(), status: 'succeeded' });
    await expectResult(await deliver(succeeded), succeeded.id, 'ignored');
    const notOurs = refundEvent('refund.failed', {
      ...lastStripeRefund(),
      status: 'failed',
      payment_intent: 'pi_not_ours',
    });
    await expectResult(await deliver(notOurs), notOurs.id, 'ignored');
    const noIntent = stripeEvent('refund.failed', {
      ...lastStripeRefund(),
      status: 'failed',
      payment_intent: null,
    });
    await expectResult(await deliver(noIntent), noIntent.id, 'ignored');
    expect(await storedPayment(payment.id)).toMatchObject({
      status: 'partially_refunded',
      amount_refunded: 1000,
    });
    expect(await refundRows(payment.id)).toStrictEqual([
      { amount: 1000, provider_ref: refund.providerRef, status: 'pending' },
    ]);
    expect(await receiptsOf(payment.id)).toStrictEqual([]);
  });

  it('refuses a Refund event whose object is not a Refund, changing nothing', async () => {
    const payment = await capturedStripePayment();
    const res = await deliver(stripeEvent('refund.failed', stripe.charge(payment.providerRef)));
    await expectProblem(res, 400, 'invalid_event');
    expect(await receiptsOf(payment.id)).toStrictEqual([]);
  });
});

describe('a payment changed under the report', () => {
  it('reads again and takes the failed refund off what the payment says then', async () => {
    const payment = await capturedStripePayment();
    const refund = await refundedByStaff(payment.id, 1000);
    stripe.refundStatus = 'succeeded';
    // Another staff refund reaches Stripe now and commits between the report's read and its batch.
    const other = await refundInFlight(payment.id, 2000);
    const failed = refundEvent('refund.failed', stripe.failRefund(refund.providerRef));
    const raced = writeLandsBeforeBatch('payments', () => commitWrites(staff(), other.writes), 'update');
    const result = await receivedWith(raced, failed);
    expect(result).toStrictEqual({ event_id: failed.id, result: 'processed' });
    expect(await storedPayment(payment.id)).toMatchObject({
      status: 'partially_refunded',
      amount_refunded: 2000,
    });
    expect(await refundRows(payment.id)).toStrictEqual([
      { amount: 1000, provider_ref: refund.providerRef, status: 'failed' },
      { amount: 2000, provider_ref: other.refund.providerRef, status: 'succeeded' },
    ]);
    expect((await eventsOf(payment.id)).map((e) => e.type)).toStrictEqual([
      'payment.authorized',
      'payment.captured',
      'payment.partially_refunded',
      'payment.partially_refunded',
      'payment.refund_failed',
    ]);
    expect(await receiptsOf(payment.id)).toStrictEqual([{ event_id: failed.id, type: 'refund.failed' }]);
  });
});
