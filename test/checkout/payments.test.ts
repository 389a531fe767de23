/**
 * Checkout's payment step, with Stripe faked at the fetch boundary in its wire format: a decline (402) and an
 * unreachable provider (503 with Retry-After) undo the holds and the lock and leave no order; an order paid in
 * the browser waits in pending_payment and is marked paid exactly once, whether Stripe's signed webhook or the
 * storefront's confirmation reports it first, or both at once.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stockSnapshot } from '../../src/modules/inventory/stock';
import { rows } from '../helpers/admin-fixtures';
import { stockedProduct } from '../helpers/carts';
import { seedRegions } from '../helpers/catalog-fixtures';
import { type CheckoutBody, checkoutCall, readyCart, shippingOption } from '../helpers/checkout';
import { deliver, FakeStripe, stripeEvent } from '../helpers/fake-stripe';
import { call, expectProblem } from '../helpers/http';

const stripe = new FakeStripe();
stripe.install();

beforeAll(async () => {
  await seedRegions();
  await shippingOption('eu');
});
beforeEach(() => {
  stripe.behaviour = 'serve';
});

async function stockedCart(onHand = 5) {
  const product = await stockedProduct({ variants: [{ prices: { EUR: 1000 } }] }, onHand);
  const variantId = product.variants[0]?.id as string;
  return { variantId, ...(await readyCart([{ variantId, quantity: 2 }])) };
}

/** No order or payment, the cart open; `reserved`: the cart's own holds (released by a checkout that got as far). */
async function nothingLeftBehind(cartId: string, variantId: string, reserved: number) {
  expect(await stockSnapshot(env.INVENTORY_ITEM, variantId)).toMatchObject({ on_hand: 5, reserved });
  expect(await rows('SELECT status, checkout_started_at FROM carts WHERE id = ?', cartId)).toStrictEqual([
    { status: 'open', checkout_started_at: null },
  ]);
  expect(await rows('SELECT id FROM orders WHERE cart_id = ?', cartId)).toStrictEqual([]);
  expect(await rows('SELECT id FROM payments WHERE cart_id = ?', cartId)).toStrictEqual([]);
}

const orderEvents = async (orderId: string) =>
  (
    await rows(
      "SELECT type FROM outbox_events WHERE aggregate_type = 'order' AND aggregate_id = ? ORDER BY rowid",
      orderId,
    )
  ).map((r) => r.type);

describe('a payment that does not go through', () => {
  it('declined: 402 payment_declined; holds released, cart open, nothing recorded', async () => {
    const { cartId, who, variantId } = await stockedCart();
    const res = await checkoutCall(cartId, who, crypto.randomUUID(), {
      provider: 'stripe',
      payment_method: 'pm_card_chargeDeclined',
    });
    await expectProblem(res, 402, 'payment_declined');
    await nothingLeftBehind(cartId, variantId, 0);
  });

  it('a payment method Stripe does not know (a typo, another account’s): 402 payment_declined, not a 500', async () => {
    const { cartId, who, variantId } = await stockedCart();
    const res = await checkoutCall(cartId, who, crypto.randomUUID(), {
      provider: 'stripe',
      payment_method: 'pm_missing_typo',
    });
    await expectProblem(res, 402, 'payment_declined');
    expect(res.headers.get('Content-Type')).toBe('application/problem+json');
    await nothingLeftBehind(cartId, variantId, 0);
  });

  it('provider unreachable: 503 payment_unavailable with Retry-After; holds released, cart open', async () => {
    const { cartId, who, variantId } = await stockedCart();
    stripe.behaviour = 'fail';
    const res = await checkoutCall(cartId, who, crypto.randomUUID(), {
      provider: 'stripe',
      payment_method: 'pm_card_visa',
    });
    expect(res.headers.get('Retry-After')).toMatch(/^\d+$/);
    await expectProblem(res, 503, 'payment_unavailable');
    await nothingLeftBehind(cartId, variantId, 0);
  });

  it('a provider not enabled for the store: 422 before anything is held', async () => {
    const { cartId, who, variantId } = await stockedCart();
    const res = await checkoutCall(cartId, who, crypto.randomUUID(), { provider: 'paypal' });
    expect(res.status).toBe(422);
    await nothingLeftBehind(cartId, variantId, 2);
  });
});

describe('paying with Stripe', () => {
  it('with a payment method confirmed at once: the order is paid', async () => {
    const { cartId, who } = await stockedCart();
    const res = await checkoutCall(cartId, who, crypto.randomUUID(), {
      provider: 'stripe',
      payment_method: 'pm_card_visa',
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const body = (await res.json()) as CheckoutBody;
    expect(body.order.status).toBe('paid');
    expect(body.payment).toMatchObject({
      provider: 'stripe',
      status: 'authorized',
      client_secret: null,
    });
  });

  async function pendingOrder() {
    const { cartId, who, variantId } = await stockedCart();
    const res = await checkoutCall(cartId, who, crypto.randomUUID(), { provider: 'stripe' });
    expect(res.status, await res.clone().text()).toBe(201);
    const body = (await res.json()) as CheckoutBody;
    expect(body.order.status).toBe('pending_payment');
    expect(body.payment).toMatchObject({
      status: 'requires_action',
      client_secret: expect.stringContaining('_secret_'),
    });
    const [payment] = await rows('SELECT provider_ref FROM payments WHERE id = ?', body.payment?.id);
    return { body, variantId, intentId: payment?.provider_ref as string, token: body.order_token as string };
  }

  it('in the browser: the order waits with its units sold, and the webhook marks it paid once', async () => {
    const { body, variantId, intentId } = await pendingOrder();
    expect(await stockSnapshot(env.INVENTORY_ITEM, variantId)).toMatchObject({ on_hand: 3, reserved: 0 });

    stripe.confirm(intentId);
    const event = stripeEvent('payment_intent.amount_capturable_updated', stripe.intents.get(intentId));
    expect(await (await deliver(event)).json()).toMatchObject({ result: 'processed' });
    expect(await (await deliver(event)).json()).toMatchObject({ result: 'duplicate' });

    const [order] = await rows('SELECT status FROM orders WHERE id = ?', body.order.id);
    expect(order).toStrictEqual({ status: 'paid' });
    expect(await orderEvents(body.order.id)).toStrictEqual(['order.created', 'order.paid']);
    const transitions = await rows(
      'SELECT action, from_status, to_status, actor_type, actor_id FROM order_transitions WHERE order_id = ? ORDER BY at, id',
      body.order.id,
    );
    expect(transitions).toStrictEqual([
      {
        action: 'place',
        from_status: null,
        to_status: 'pending_payment',
        actor_type: 'anonymous',
        actor_id: 'anonymous',
      },
      {
        action: 'pay',
        from_status: 'pending_payment',
        to_status: 'paid',
        actor_type: 'system',
        actor_id: 'stripe-webhook',
      },
    ]);
  });

  it('the storefront confirmation marks it paid; the webhook after it changes nothing', async () => {
    const { body, intentId, token } = await pendingOrder();
    stripe.confirm(intentId);
    const confirmed = await call(`/v1/store/orders/${body.order.id}/confirm-payment`, {
      method: 'POST',
      headers: { 'X-Order-Token': token },
    });
    expect(confirmed.status, await confirmed.clone().text()).toBe(200);
    expect(((await confirmed.json()) as { status: string }).status).toBe('paid');
    const event = stripeEvent('payment_intent.amount_capturable_updated', stripe.intents.get(intentId));
    expect((await deliver(event)).status).toBe(200);
    expect(await orderEvents(body.order.id)).toStrictEqual(['order.created', 'order.paid']);
  });

  it('the webhook and the confirmation racing: one order, paid once, one order.paid', async () => {
    for (let round = 0; round < 3; round++) {
      const { body, intentId, token } = await pendingOrder();
      stripe.confirm(intentId);
      const event = stripeEvent('payment_intent.amount_capturable_updated', stripe.intents.get(intentId));
      const [hook, confirmed] = await Promise.all([
        deliver(event),
        call(`/v1/store/orders/${body.order.id}/confirm-payment`, {
          method: 'POST',
          headers: { 'X-Order-Token': token },
        }),
      ]);
      expect([hook.status, confirmed.status]).toStrictEqual([200, 200]);
      expect(await orderEvents(body.order.id)).toStrictEqual(['order.created', 'order.paid']);
      expect(
        await rows("SELECT id FROM order_transitions WHERE order_id = ? AND action = 'pay'", body.order.id),
      ).toHaveLength(1);
    }
  });

  it('the confirmation before the shopper paid: the order still waits', async () => {
    const { body, token } = await pendingOrder();
    const res = await call(`/v1/store/orders/${body.order.id}/confirm-payment`, {
      method: 'POST',
      headers: { 'X-Order-Token': token },
    });
    expect(((await res.json()) as { status: string }).status).toBe('pending_payment');
    await expectProblem(
      await call(`/v1/store/orders/${body.order.id}/confirm-payment`, { method: 'POST' }),
      404,
      'not_found',
    );
  });
});
