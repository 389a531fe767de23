/**
 * The order side of a refund Stripe fails or cancels after it was counted (Stripe's Refund events through
 * POST /v1/hooks/stripe, orders placed through real checkout): the order's refunded total gives the money back in
 * the batch that takes it off the payment.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { admin } from '../helpers/admin-fixtures';
import { seedRegions } from '../helpers/catalog-fixtures';
import { shippingOption } from '../helpers/checkout';
import { deliver, FakeStripe, refundEvent } from '../helpers/fake-stripe';
import { adminOrder as order, paidOrder } from '../helpers/placed-orders';

const stripe = new FakeStripe();
stripe.install();

beforeAll(async () => {
  await seedRegions();
  await shippingOption('eu', { amount: 500 });
});

/** A Stripe order shipped in full (its 25.00 captured). */
async function shippedWithStripe() {
  const placed = await paidOrder('stripe');
  const shipped = await admin('POST', `/orders/${placed.id}/fulfillments`, {
    carrier: 'DHL',
    tracking_number: 'T',
  });
  expect(shipped.status).toBe(201);
  return placed;
}

/** Staff's refund of `amount` through the admin API, which Stripe answers `pending`; Stripe's Refund for it. */
async function pendingStaffRefund(orderId: string, amount: number) {
  stripe.refundStatus = 'pending';
  const res = await admin('POST', `/orders/${orderId}/refunds`, { amount, reason: 'damaged' });
  expect(res.status, await res.clone().text()).toBe(201);
  const refund = stripe.refunds.at(-1);
  if (!refund) throw new Error('no refund');
  return refund;
}

describe('a staff refund Stripe fails later', () => {
  it('comes back off the order’s refunded total, and can be refunded again', async () => {
    const placed = await shippedWithStripe();
    const refund = await pendingStaffRefund(placed.id, 1000);
    expect(await order(placed.id)).toMatchObject({ refunded_total: 1000 });

    const failed = refundEvent('refund.failed', stripe.failRefund(refund.id));
    expect(await (await deliver(failed)).json()).toStrictEqual({ event_id: failed.id, result: 'processed' });
    expect(await order(placed.id)).toMatchObject({
      refunded_total: 0,
      payments: [{ status: 'captured', amount_captured: 2500, amount_refunded: 0 }],
    });

    stripe.refundStatus = 'succeeded';
    const again = await admin('POST', `/orders/${placed.id}/refunds`, { amount: 2500 });
    expect(again.status, await again.clone().text()).toBe(201);
    expect(await order(placed.id)).toMatchObject({ status: 'refunded', refunded_total: 2500 });
  });
});
