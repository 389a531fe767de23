/**
 * A canceled order gives its discount code's use back: whoever cancels it (staff, the sweep of an order never
 * paid, Stripe canceling the authorization), the redemption is released in the cancel's batch, the code's limits
 * count it no more, and the shopper can use the code again. A cancel that loses its race releases nothing.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { PAYMENT_NOT_COMPLETED_REASON } from '../../src/jobs/order-stock';
import { systemCaller } from '../../src/lib/caller';
import { createDb } from '../../src/lib/db';
import { cancelOrderAs } from '../../src/modules/orders/cancel';
import { findOrder } from '../../src/modules/orders/read';
import { commitTransition, transitionOrder } from '../../src/modules/orders/transitions';
import { admin, rows } from '../helpers/admin-fixtures';
import { cartCall, patchCart, stockedProduct } from '../helpers/carts';
import { seedRegions } from '../helpers/catalog-fixtures';
import { type CheckoutBody, checkoutCall, readyCart, shippingOption } from '../helpers/checkout';
import { deliver, FakeStripe, stripeEvent } from '../helpers/fake-stripe';
import { expectProblem } from '../helpers/http';
import { unique, uniqueEmail } from '../helpers/unique';

const stripe = new FakeStripe();
stripe.install();

let variantId: string;

beforeAll(async () => {
  await seedRegions();
  await shippingOption('eu', { amount: 500 });
  variantId = (await stockedProduct({ variants: [{ prices: { EUR: 1000 } }] })).variants[0]?.id as string;
});

/** A code each shopper may use once, 10% off. */
async function oncePerShopper(): Promise<{ id: string; code: string }> {
  const res = await admin('POST', '/discounts', {
    code: unique('ONCE'),
    type: 'percentage',
    percentage_bps: 1000,
    usage_limit_per_customer: 1,
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { id: string; code: string };
}

/** A checkout by `email` of one unit with `code`, paid as `body` says; answers the checkout's response. */
async function checkoutWith(email: string, code: string, body: Record<string, unknown> = {}) {
  const { cartId, who } = await readyCart([{ variantId }], { email });
  const res = await patchCart(cartId, who, { discount_code: code });
  expect(res.discount).toStrictEqual({ code, applicable: true, amount: 100, reason: null });
  return checkoutCall(cartId, who, crypto.randomUUID(), body);
}

async function placedWith(email: string, code: string, body: Record<string, unknown> = {}) {
  const res = await checkoutWith(email, code, body);
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as CheckoutBody).order;
}

const timesUsed = async (discountId: string) => {
  const res = await admin('GET', `/discounts/${discountId}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { times_used: number }).times_used;
};

const redemptions = (discountId: string) =>
  rows(
    'SELECT order_id, released_at IS NOT NULL AS released FROM discount_redemptions WHERE discount_id = ? ORDER BY rowid',
    discountId,
  );

/** The shopper's next cart, with the code entered: refused while their use counts. */
async function enterAgain(email: string, code: string) {
  const { cartId, who } = await readyCart([{ variantId }], { email });
  return cartCall('PATCH', `/carts/${cartId}`, who, { discount_code: code });
}

describe('a canceled order', () => {
  it('canceled by staff gives the shopper’s use back: the code counts it no more and applies again', async () => {
    const discount = await oncePerShopper();
    const email = uniqueEmail();
    const order = await placedWith(email, discount.code);
    expect(await timesUsed(discount.id)).toBe(1);
    await expectProblem(await enterAgain(email, discount.code), 422, 'discount_customer_limit_reached', [
      { pointer: '/body/discount_code', message: expect.any(String) },
    ]);

    const cancel = await admin('POST', `/orders/${order.id}/cancel`, { reason: 'Customer asked' });
    expect(cancel.status, await cancel.clone().text()).toBe(200);

    expect(await redemptions(discount.id)).toStrictEqual([{ order_id: order.id, released: 1 }]);
    expect(await timesUsed(discount.id)).toBe(0);
    const again = await placedWith(email, discount.code);
    expect(await redemptions(discount.id)).toStrictEqual([
      { order_id: order.id, released: 1 },
      { order_id: again.id, released: 0 },
    ]);
    expect(await timesUsed(discount.id)).toBe(1);
    // A released redemption is still history: the code cannot be deleted.
    await expectProblem(await admin('DELETE', `/discounts/${discount.id}`), 409, 'discount_in_use');
  });

  it('never paid, canceled by the sweep, gives the use back', async () => {
    const discount = await oncePerShopper();
    const email = uniqueEmail();
    const order = await placedWith(email, discount.code, { provider: 'stripe' });
    expect(order.status).toBe('pending_payment');

    await cancelOrderAs(
      env,
      systemCaller('order-stock-sweep', 'run'),
      order.id,
      PAYMENT_NOT_COMPLETED_REASON,
    );

    expect(await redemptions(discount.id)).toStrictEqual([{ order_id: order.id, released: 1 }]);
    expect(await timesUsed(discount.id)).toBe(0);
    expect((await checkoutWith(email, discount.code)).status).toBe(201);
  });

  it('canceled by Stripe (its authorization canceled) gives the use back in the webhook’s batch', async () => {
    const discount = await oncePerShopper();
    const order = await placedWith(uniqueEmail(), discount.code, {
      provider: 'stripe',
      payment_method: 'pm_card_visa',
    });
    expect(order.status).toBe('paid');
    const [payment] = await rows('SELECT provider_ref FROM payments WHERE order_id = ?', order.id);
    const intent = stripe.intents.get(payment?.provider_ref as string);
    const event = stripeEvent('payment_intent.canceled', {
      ...intent,
      status: 'canceled',
      amount_capturable: 0,
    });
    expect((await deliver(event)).status).toBe(200);

    expect(await rows('SELECT status FROM orders WHERE id = ?', order.id)).toStrictEqual([
      { status: 'canceled' },
    ]);
    expect(await redemptions(discount.id)).toStrictEqual([{ order_id: order.id, released: 1 }]);
    expect(await timesUsed(discount.id)).toBe(0);
  });

  it('is released only by the cancel that wins the order: one that lost its race releases nothing', async () => {
    const discount = await oncePerShopper();
    const order = await placedWith(uniqueEmail(), discount.code);
    const db = createDb(env.DB);
    const caller = systemCaller('race-test', 'run');
    const read = await findOrder(db, order.id);
    const ship = transitionOrder(db, caller, read, { action: 'fulfil', to: 'fulfilled' });
    const cancel = transitionOrder(db, caller, read, { action: 'cancel', to: 'canceled' });
    expect(await commitTransition(db, caller, ship, { statements: [] })).toBe(true);
    expect(await commitTransition(db, caller, cancel, { statements: [] })).toBe(false);

    expect(await redemptions(discount.id)).toStrictEqual([{ order_id: order.id, released: 0 }]);
    expect(await timesUsed(discount.id)).toBe(1);
  });
});
