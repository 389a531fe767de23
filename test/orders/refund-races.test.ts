/**
 * Refunds of one order sent at the same time, through the real Worker, on a `manual` payment: the provider that
 * accepts any refund, so nothing but our own record stands between two staff members and a payment refunded
 * twice over. Whatever the two requests asked, what is recorded (the refunds rows, the payment's refunded amount,
 * the order's refunded total, the `order.refunded` events revenue adds up) never exceeds what was captured, and
 * the request that lost gets the answer it would have got had it been sent after the winner.
 *
 * The race is forced, not hoped for: both requests are held at the provider until both have passed their checks
 * against the same, untouched order, then one is let go and answered before the other moves on.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Money } from '../../src/modules/payments/provider';
import { admin, rows } from '../helpers/admin-fixtures';
import { stockedProduct } from '../helpers/carts';
import { seedRegions } from '../helpers/catalog-fixtures';
import { type CheckoutBody, checkoutCall, readyCart, shippingOption } from '../helpers/checkout';
import { expectProblem } from '../helpers/http';
import { raceAtProvider } from '../helpers/provider-race';

beforeAll(async () => {
  await seedRegions();
  await shippingOption('eu', { amount: 40 });
});

/** An order of 1 x 0.60 + 0.40 shipping, placed through checkout and shipped: its payment captured 100. */
async function capturedOrder(): Promise<string> {
  const made = await stockedProduct({ variants: [{ prices: { EUR: 60 } }] }, 5);
  const { cartId, who } = await readyCart([{ variantId: made.variants[0]?.id as string }]);
  const placed = await checkoutCall(cartId, who, crypto.randomUUID());
  expect(placed.status, await placed.clone().text()).toBe(201);
  const { order } = (await placed.json()) as CheckoutBody;
  expect(order.total).toBe(100);
  const shipped = await admin('POST', `/orders/${order.id}/fulfillments`, {
    carrier: 'DHL',
    tracking_number: 'T',
  });
  expect(shipped.status, await shipped.clone().text()).toBe(201);
  return order.id;
}

/** Both refunds raced at the provider (test/helpers/provider-race.ts); the one of `firstAmount` goes first. */
function race(orderId: string, first: { amount?: number }, second: { amount?: number }, firstAmount: number) {
  const path = `/orders/${orderId}/refunds`;
  return raceAtProvider(
    ['refund'],
    [
      { path, body: first },
      { path, body: second },
    ],
    (call) => (call.args[1] as Money).amount === firstAmount,
  );
}

/** What D1 holds for the order's money, and what its events and transitions say about refunds. */
async function recorded(orderId: string) {
  const [order] = await rows('SELECT status, refunded_total FROM orders WHERE id = ?', orderId);
  const [{ id: paymentId, ...payment } = {}] = await rows(
    'SELECT id, status, amount_captured, amount_refunded FROM payments WHERE order_id = ?',
    orderId,
  );
  const refunds = await rows('SELECT amount FROM refunds WHERE payment_id = ? ORDER BY rowid', paymentId);
  const eventsOf = async (id: string) =>
    (await rows('SELECT type, payload FROM outbox_events WHERE aggregate_id = ? ORDER BY rowid', id))
      .filter((e) => String(e.type).includes('refund'))
      .map((e) => ({ type: e.type, amount: JSON.parse(String(e.payload)).amount }));
  return {
    order,
    payment,
    refunds,
    orderEvents: await eventsOf(orderId),
    paymentEvents: (await eventsOf(String(paymentId))).map((e) => e.type),
    refundTransitions: (
      await rows("SELECT to_status FROM order_transitions WHERE order_id = ? AND action = 'refund'", orderId)
    ).map((t) => t.to_status),
  };
}

/** The winner's answer is the order as it now is: the loser wrote nothing after it. */
async function expectCurrentOrder(res: Response, orderId: string) {
  expect(res.status, await res.clone().text()).toBe(201);
  const now = await admin('GET', `/orders/${orderId}`);
  expect(await res.json()).toStrictEqual(await now.json());
}

describe('two refunds of one captured payment at the same time', () => {
  it('60 and 60 of 100: one is recorded, the other is refused with what is left', async () => {
    const orderId = await capturedOrder();
    const { winner, loser } = await race(orderId, { amount: 60 }, { amount: 60 }, 60);

    await expectCurrentOrder(winner, orderId);
    await expectProblem(loser, 422, 'refund_exceeds_refundable', [
      { pointer: '/body/amount', message: 'At most 40' },
    ]);
    expect(await recorded(orderId)).toStrictEqual({
      order: { status: 'partially_refunded', refunded_total: 60 },
      payment: { status: 'partially_refunded', amount_captured: 100, amount_refunded: 60 },
      refunds: [{ amount: 60 }],
      orderEvents: [{ type: 'order.refunded', amount: 60 }],
      paymentEvents: ['payment.partially_refunded'],
      refundTransitions: ['partially_refunded'],
    });
  });

  it('a partial refund, then everything: the full refund is refused, as the order changed under it', async () => {
    const orderId = await capturedOrder();
    const { winner, loser } = await race(orderId, { amount: 60 }, {}, 60);

    await expectCurrentOrder(winner, orderId);
    await expectProblem(loser, 409, 'order_changed');
    expect(await recorded(orderId)).toStrictEqual({
      order: { status: 'partially_refunded', refunded_total: 60 },
      payment: { status: 'partially_refunded', amount_captured: 100, amount_refunded: 60 },
      refunds: [{ amount: 60 }],
      orderEvents: [{ type: 'order.refunded', amount: 60 }],
      paymentEvents: ['payment.partially_refunded'],
      refundTransitions: ['partially_refunded'],
    });
  });

  it('everything, then a partial refund: the partial one is refused, as the order is refunded', async () => {
    const orderId = await capturedOrder();
    const { winner, loser } = await race(orderId, {}, { amount: 60 }, 100);

    await expectCurrentOrder(winner, orderId);
    await expectProblem(loser, 409, 'invalid_transition');
    expect(await recorded(orderId)).toStrictEqual({
      order: { status: 'refunded', refunded_total: 100 },
      payment: { status: 'refunded', amount_captured: 100, amount_refunded: 100 },
      refunds: [{ amount: 100 }],
      orderEvents: [{ type: 'order.refunded', amount: 100 }],
      paymentEvents: ['payment.refunded'],
      refundTransitions: ['refunded'],
    });
  });

  it('30 and 50 of 100: both fit, so both are recorded, each once', async () => {
    const orderId = await capturedOrder();
    const { winner, loser } = await race(orderId, { amount: 30 }, { amount: 50 }, 30);

    expect(winner.status, await winner.clone().text()).toBe(201);
    expect(await winner.json()).toMatchObject({ status: 'partially_refunded', refunded_total: 30 });
    await expectCurrentOrder(loser, orderId);
    expect(await recorded(orderId)).toStrictEqual({
      order: { status: 'partially_refunded', refunded_total: 80 },
      payment: { status: 'partially_refunded', amount_captured: 100, amount_refunded: 80 },
      refunds: [{ amount: 30 }, { amount: 50 }],
      orderEvents: [
        { type: 'order.refunded', amount: 30 },
        { type: 'order.refunded', amount: 50 },
      ],
      paymentEvents: ['payment.partially_refunded', 'payment.partially_refunded'],
      refundTransitions: ['partially_refunded', 'partially_refunded'],
    });
  });
});
