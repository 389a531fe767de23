/**
 * The order side of a refund Stripe fails or cancels after it was counted (Stripe's Refund events through
 * POST /v1/hooks/stripe, orders placed through real checkout): in the batch that takes it off the payment, the
 * order's refunded total gives the money back and a refunded order goes back (`refund_failed`), with its
 * transition, audit entry and `order.refund_failed` event, once; an order changed under the report.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../../src/lib/db';
import { fulfilOrder } from '../../src/modules/orders/admin-service';
import { restoreOrderOnRefundFailure } from '../../src/modules/orders/settlement';
import { receiveStripeWebhook } from '../../src/modules/payments/webhook-service';
import { admin, rows } from '../helpers/admin-fixtures';
import { seedRegions } from '../helpers/catalog-fixtures';
import { shippingOption } from '../helpers/checkout';
import { writeLandsBeforeBatch } from '../helpers/concurrent-write';
import { deliver, FakeStripe, refundEvent, signature, stripeEvent } from '../helpers/fake-stripe';
import { staff } from '../helpers/payments';
import { eventTypes, adminOrder as order, type PlacedOrder, paidOrder } from '../helpers/placed-orders';

const stripe = new FakeStripe();
stripe.install();

beforeAll(async () => {
  await seedRegions();
  await shippingOption('eu', { amount: 500 });
});

/** Ships `quantity` of the order's one line (2 x 10.00); the first shipment captures its 25.00. */
async function ship(placed: PlacedOrder, quantity: number) {
  const [line] = (await order(placed.id)).lines;
  const res = await admin('POST', `/orders/${placed.id}/fulfillments`, {
    carrier: 'DHL',
    tracking_number: 'T',
    lines: [{ line_id: line?.id, quantity }],
  });
  expect(res.status, await res.clone().text()).toBe(201);
}

/** Staff's refund of `amount` through the admin API, which Stripe answers `status`; Stripe's Refund for it. */
async function staffRefund(orderId: string, amount: number, status: 'pending' | 'succeeded' = 'pending') {
  stripe.refundStatus = status;
  const res = await admin('POST', `/orders/${orderId}/refunds`, { amount, reason: 'damaged' });
  expect(res.status, await res.clone().text()).toBe(201);
  const refund = stripe.refunds.at(-1);
  if (!refund) throw new Error('no refund');
  return refund;
}

async function expectProcessed(event: { id: string }) {
  const res = await deliver(event);
  expect(res.status).toBe(200);
  expect(await res.json()).toStrictEqual({ event_id: event.id, result: 'processed' });
}

/** The order's `order.refund_failed` events with the audit entry and the transition of each. */
const failureRecords = (orderId: string) =>
  rows(
    `SELECT o.payload, a.actor_type, a.actor_id, a.action, a.changes,
            t.action AS transition, t.from_status, t.to_status, t.actor_id AS transition_actor, t.reason
     FROM outbox_events o
     JOIN audit_log a ON a.request_id = o.request_id AND a.target_id = o.aggregate_id
     JOIN order_transitions t ON t.request_id = o.request_id AND t.order_id = o.aggregate_id
     WHERE o.type = 'order.refund_failed' AND o.aggregate_id = ? ORDER BY o.rowid`,
    orderId,
  );

describe('a refund Stripe fails after the order counted it', () => {
  it('gives the money back: the order returns to its status before the refund, with its records, once', async () => {
    const placed = await paidOrder('stripe');
    await ship(placed, 2);
    const refund = await staffRefund(placed.id, 2500);
    expect(await order(placed.id)).toMatchObject({ status: 'refunded', refunded_total: 2500 });

    const failed = refundEvent('refund.failed', stripe.failRefund(refund.id));
    await expectProcessed(failed);
    const after = await order(placed.id);
    expect(after).toMatchObject({
      status: 'fulfilled',
      refunded_total: 0,
      payments: [
        {
          status: 'captured',
          amount_captured: 2500,
          amount_refunded: 0,
          refunds: [{ amount: 2500, status: 'failed' }],
        },
      ],
    });
    const summary = {
      from: 'refunded',
      to: 'fulfilled',
      reason: 'stripe refund failed (webhook)',
      region: 'eu',
      country: 'DE',
      currency: 'EUR',
      amount: 2500,
      payment_id: placed.paymentId,
      refunded_total: 0,
    };
    const records = await failureRecords(placed.id);
    const parsed = records.map((r) => ({
      ...r,
      payload: JSON.parse(r.payload as string),
      changes: JSON.parse(r.changes as string),
    }));
    expect(parsed).toStrictEqual([
      {
        payload: { id: placed.id, number: expect.any(String), ...summary },
        actor_type: 'system',
        actor_id: 'stripe-webhook',
        action: 'order.refund_failed',
        changes: { id: placed.id, ...summary },
        transition: 'refund_failed',
        from_status: 'refunded',
        to_status: 'fulfilled',
        transition_actor: 'stripe-webhook',
        reason: 'stripe refund failed (webhook)',
      },
    ]);
    expect(await eventTypes('order', [placed.id])).toStrictEqual([
      'order.created',
      'order.paid',
      'order.fulfilled',
      'order.refunded',
      'order.refund_failed',
    ]);

    // Stripe redelivers, and reports the same Refund again: nothing changes.
    const res = await deliver(failed);
    expect(await res.json()).toStrictEqual({ event_id: failed.id, result: 'duplicate' });
    const again = refundEvent('charge.refund.updated', stripe.failRefund(refund.id));
    expect(await (await deliver(again)).json()).toStrictEqual({ event_id: again.id, result: 'duplicate' });
    expect(await order(placed.id)).toStrictEqual(after);
    expect(await failureRecords(placed.id)).toHaveLength(1);

    // The money can be refunded again.
    await staffRefund(placed.id, 2500, 'succeeded');
    expect(await order(placed.id)).toMatchObject({ status: 'refunded', refunded_total: 2500 });
  });

  it('keeps the order partially refunded while other refunded money remains', async () => {
    const placed = await paidOrder('stripe');
    await ship(placed, 2);
    await staffRefund(placed.id, 1000, 'succeeded');
    const pending = await staffRefund(placed.id, 500);
    expect(await order(placed.id)).toMatchObject({ status: 'partially_refunded', refunded_total: 1500 });

    await expectProcessed(refundEvent('refund.updated', stripe.failRefund(pending.id, 'canceled')));
    expect(await order(placed.id)).toMatchObject({
      status: 'partially_refunded',
      refunded_total: 1000,
      payments: [{ status: 'partially_refunded', amount_refunded: 1000 }],
    });
    const [record] = await failureRecords(placed.id);
    expect(JSON.parse(record?.payload as string)).toMatchObject({
      from: 'partially_refunded',
      to: 'partially_refunded',
      reason: 'stripe refund canceled (webhook)',
      amount: 500,
      refunded_total: 1000,
    });
  });

  it('goes back to what shipping made of the order since the refund', async () => {
    const placed = await paidOrder('stripe');
    await ship(placed, 1);
    const refund = await staffRefund(placed.id, 1000);
    await ship(placed, 1);
    expect(await order(placed.id)).toMatchObject({ status: 'partially_refunded' });

    await expectProcessed(refundEvent('refund.failed', stripe.failRefund(refund.id)));
    expect(await order(placed.id)).toMatchObject({ status: 'fulfilled', refunded_total: 0 });
  });

  it('applies to a refund made in Stripe’s dashboard', async () => {
    const placed = await paidOrder('stripe');
    await ship(placed, 2);
    const dashboard = stripe.refundInDashboard(placed.providerRef, 2500);
    await expectProcessed(stripeEvent('charge.refunded', stripe.charge(placed.providerRef)));
    expect(await order(placed.id)).toMatchObject({ status: 'refunded', refunded_total: 2500 });

    await expectProcessed(refundEvent('charge.refund.updated', stripe.failRefund(dashboard.id)));
    expect(await order(placed.id)).toMatchObject({ status: 'fulfilled', refunded_total: 0 });
    expect((await failureRecords(placed.id)).map((r) => r.action)).toStrictEqual(['order.refund_failed']);
  });

  it('keeps a canceled order canceled; only its refunded total follows', async () => {
    const placed = await paidOrder('stripe');
    // Captured in Stripe's dashboard before staff cancel: the cancel refunds it.
    Object.assign(stripe.intents.get(placed.providerRef) ?? {}, {
      status: 'succeeded',
      amount_received: 2500,
    });
    await expectProcessed(stripeEvent('payment_intent.succeeded', stripe.intents.get(placed.providerRef)));
    stripe.refundStatus = 'pending';
    const canceled = await admin('POST', `/orders/${placed.id}/cancel`, { reason: 'Customer asked' });
    expect(canceled.status, await canceled.clone().text()).toBe(200);
    expect(await order(placed.id)).toMatchObject({ status: 'canceled', refunded_total: 2500 });
    const refund = stripe.refunds.at(-1);

    await expectProcessed(refundEvent('refund.failed', stripe.failRefund(refund?.id ?? '')));
    expect(await order(placed.id)).toMatchObject({
      status: 'canceled',
      refunded_total: 0,
      payments: [{ status: 'captured', amount_refunded: 0 }],
    });
    expect(await failureRecords(placed.id)).toStrictEqual([]);
  });
});

describe('an order changed under the report', () => {
  it('reads it again and goes back to what the other change made of it', async () => {
    const placed = await paidOrder('stripe');
    await ship(placed, 1);
    const refund = await staffRefund(placed.id, 1000);
    const failed = refundEvent('refund.failed', stripe.failRefund(refund.id));
    const payload = JSON.stringify(failed);
    // Staff ship the rest between the report's read of the order and its batch.
    const [line] = (await order(placed.id)).lines;
    const raced = writeLandsBeforeBatch(
      'orders',
      () =>
        fulfilOrder(env, staff(), placed.id, {
          carrier: 'DHL',
          tracking_number: 'T2',
          lines: [{ line_id: line?.id ?? '', quantity: 1 }],
        }),
      'update',
    );
    const result = await receiveStripeWebhook(
      createDb(raced.DB),
      raced,
      { ...staff(), actor: { type: 'system', id: 'stripe-webhook' } },
      {
        payload: new TextEncoder().encode(payload),
        signature: await signature(payload),
        onPaymentRefundFailed: restoreOrderOnRefundFailure,
      },
    );
    expect(result).toStrictEqual({ event_id: failed.id, result: 'processed' });
    expect(await order(placed.id)).toMatchObject({
      status: 'fulfilled',
      refunded_total: 0,
      payments: [{ status: 'captured', amount_refunded: 0 }],
    });
    const records = await failureRecords(placed.id);
    expect(records.map((r) => [r.from_status, r.to_status])).toStrictEqual([
      ['partially_refunded', 'fulfilled'],
    ]);
    expect((await eventTypes('order', [placed.id])).slice(-2)).toStrictEqual([
      'order.fulfilled',
      'order.refund_failed',
    ]);
  });
});
