/**
 * Checkout's payment step, with Stripe faked at the fetch boundary in its wire format: a decline (402) and an
 * unreachable provider (503 with Retry-After) undo the holds and the lock and leave no order; an order paid in
 * the browser waits in pending_payment and is marked paid exactly once, whether Stripe's signed webhook or the
 * storefront's confirmation reports it first, or both at once; a retry after the order's batch failed is placed on
 * a live PaymentIntent, not the one the failed attempt voided.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { stockSnapshot } from '../../src/modules/inventory/stock';
import { rows } from '../helpers/admin-fixtures';
import { type Cart, type CartCredentials, cartCall, cartHeaders, stockedProduct } from '../helpers/carts';
import { seedRegions } from '../helpers/catalog-fixtures';
import { type CheckoutBody, checkoutCall, readyCart, shippingOption } from '../helpers/checkout';
import { writeLandsBeforeBatch } from '../helpers/concurrent-write';
import { deliver, FakeStripe, stripeEvent } from '../helpers/fake-stripe';
import { call, expectProblem, jsonInit } from '../helpers/http';
import { expectRateLimited, inOneRateLimitWindow } from '../helpers/rate-limits';

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
  it('declined: 402 payment_declined; holds released and the cart open, showing its lines not_reserved; nothing recorded', async () => {
    const { cartId, who, variantId } = await stockedCart();
    const res = await checkoutCall(cartId, who, crypto.randomUUID(), {
      provider: 'stripe',
      payment_method: 'pm_card_chargeDeclined',
    });
    await expectProblem(res, 402, 'payment_declined');
    await nothingLeftBehind(cartId, variantId, 0);
    const read = await cartCall('GET', `/carts/${cartId}`, who);
    expect(read.status).toBe(200);
    const { cart } = (await read.json()) as { cart: Cart };
    expect(cart.lines.map((l) => [l.quantity, l.flags, l.reservation_expires_at])).toStrictEqual([
      [2, ['not_reserved'], null],
    ]);
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

  it('confirmations that ask Stripe are limited per order: the 21st in a minute is 429 and asks nothing', async () => {
    await inOneRateLimitWindow(async () => {
      const { body, intentId, token } = await pendingOrder();
      const confirm = () =>
        call(`/v1/store/orders/${body.order.id}/confirm-payment`, {
          method: 'POST',
          headers: { 'X-Order-Token': token },
        });
      const asked = () =>
        stripe.requests.filter((r) => r.url.endsWith(`/payment_intents/${intentId}`)).length;
      for (let i = 0; i < 20; i++) expect((await confirm()).status).toBe(200);
      expect(asked()).toBe(20);
      await expectRateLimited(await confirm());
      expect(asked()).toBe(20);

      // A paid order's confirmation asks nothing, so it is not counted.
      expect(
        (
          await deliver(
            stripeEvent('payment_intent.amount_capturable_updated', {
              ...stripe.intents.get(intentId),
              status: 'requires_capture',
            }),
          )
        ).status,
      ).toBe(200);
      const paid = await confirm();
      expect(paid.status).toBe(200);
      expect(((await paid.json()) as { status: string }).status).toBe('paid');
      expect(asked()).toBe(20);
    });
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

/** The checkout call on the app with `bindings`: a D1 that fails the order's batch once, as the test says. */
async function checkoutOn(bindings: Env, cartId: string, who: CartCredentials, key: string, body: unknown) {
  const ctx = createExecutionContext();
  const init = jsonInit('POST', body, { ...cartHeaders(who), 'Idempotency-Key': key });
  const res = await createApp().request(`/v1/store/carts/${cartId}/checkout`, init, bindings, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe('a checkout retried with its Idempotency-Key after its order’s batch failed', () => {
  // The first attempt authorized, then D1 refused the order's batch (a transient error: a 5xx the client is meant
  // to retry), and checkout's undo voided the PaymentIntent. Stripe replays the first answer to the same key
  // (`requires_capture` as it was then), so the retry must see that the PaymentIntent is canceled now.
  const batchFailsOnce = () =>
    writeLandsBeforeBatch(
      'orders',
      async () => {
        throw new Error('D1_ERROR: Network connection lost.');
      },
      'insert into',
    );

  it.each([
    {
      paidWith: 'a payment method confirmed at once',
      body: { provider: 'stripe', payment_method: 'pm_card_visa' },
      status: 'paid',
      intentStatus: 'requires_capture',
    },
    {
      paidWith: 'the browser',
      body: { provider: 'stripe' },
      status: 'pending_payment',
      intentStatus: 'requires_payment_method',
    },
  ])(
    'paid with $paidWith: the order is placed on a live PaymentIntent, not the voided one',
    async ({ body, status, intentStatus }) => {
      const { cartId, who } = await stockedCart();
      const key = crypto.randomUUID();
      const first = await checkoutOn(batchFailsOnce(), cartId, who, key, body);
      expect(first.status).toBe(500);
      const [voided] = [...stripe.intents.values()].filter((i) => i.metadata.cart_id === cartId);
      expect(voided?.status).toBe('canceled');

      const retry = await checkoutCall(cartId, who, key, body);
      expect(retry.status, await retry.clone().text()).toBe(201);
      const placed = (await retry.json()) as CheckoutBody;
      expect(placed.order.status).toBe(status);
      const [payment] = await rows('SELECT provider_ref FROM payments WHERE order_id = ?', placed.order.id);
      expect(payment?.provider_ref).not.toBe(voided?.id);
      expect(stripe.intents.get(String(payment?.provider_ref))?.status).toBe(intentStatus);

      // A further retry is the first answer again, on the same live PaymentIntent.
      const again = await checkoutCall(cartId, who, key, body);
      expect(again.status).toBe(201);
      expect(((await again.json()) as CheckoutBody).order.id).toBe(placed.order.id);
      expect([...stripe.intents.values()].filter((i) => i.metadata.cart_id === cartId)).toHaveLength(2);
    },
  );

  it('after five attempts whose order batches all failed, the next is 409 payment_attempts_exhausted, not a decline; a new key pays', async () => {
    const { cartId, who } = await stockedCart();
    const key = crypto.randomUUID();
    const body = { provider: 'stripe', payment_method: 'pm_card_visa' };
    for (let i = 0; i < 5; i++)
      expect((await checkoutOn(batchFailsOnce(), cartId, who, key, body)).status).toBe(500);
    const voided = [...stripe.intents.values()].filter((i) => i.metadata.cart_id === cartId);
    expect(voided.map((i) => i.status)).toStrictEqual(Array(5).fill('canceled'));

    // Retried as often as a client likes, it stays a 409 and never counts against Stripe's circuit breaker.
    for (let i = 0; i < 6; i++) {
      await expectProblem(await checkoutCall(cartId, who, key, body), 409, 'payment_attempts_exhausted');
    }
    expect([...stripe.intents.values()].filter((i) => i.metadata.cart_id === cartId)).toHaveLength(5);
    const fresh = await checkoutCall(cartId, who, crypto.randomUUID(), body);
    expect(fresh.status, await fresh.clone().text()).toBe(201);
    expect(((await fresh.json()) as CheckoutBody).order.status).toBe('paid');
  });
});
