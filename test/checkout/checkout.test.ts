/**
 * Checkout through the storefront API against real local D1 and InventoryItem objects, with the manual payment
 * provider: a ready cart becomes one paid order with its units sold, the response is replayed for a retry with
 * the same Idempotency-Key, and every refusal leaves no order, no payment, no hold and an open cart.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { systemCaller } from '../../src/lib/caller';
import { createDb } from '../../src/lib/db';
import { claimIdempotencyKey } from '../../src/lib/idempotency';
import { updateLineItem } from '../../src/modules/carts/line-items';
import { checkout } from '../../src/modules/checkout/service';
import { releaseStock, stockSnapshot } from '../../src/modules/inventory/stock';
import { admin, rows } from '../helpers/admin-fixtures';
import {
  cartCall,
  cartRow,
  getCart,
  guestCart,
  holdClockAt,
  patchCart,
  stockedProduct,
} from '../helpers/carts';
import { seedRegions } from '../helpers/catalog-fixtures';
import {
  type CheckoutBody,
  checkoutCall,
  readyCart,
  SHIPPING_ADDRESS,
  shippingOption,
} from '../helpers/checkout';
import { writeLandsBeforeBatch } from '../helpers/concurrent-write';
import { registerCustomer } from '../helpers/customers';
import { bearer, call, expectProblem, problemOf } from '../helpers/http';

let cheapest: { id: string };

beforeAll(async () => {
  await seedRegions();
  await shippingOption('eu', { name: 'Express', amount: 990 });
  cheapest = await shippingOption('eu', { name: 'Standard', amount: 490 });
});

const stock = (variantId: string) => stockSnapshot(env.INVENTORY_ITEM, variantId);

async function cartState(cartId: string) {
  const [row] = await rows(
    'SELECT status, checkout_started_at, completed_order_id FROM carts WHERE id = ?',
    cartId,
  );
  return row;
}

describe('checking out a guest cart with the manual provider', () => {
  it('places one paid order, sells its units, completes the cart and answers the order with its token', async () => {
    const product = await stockedProduct({ variants: [{ prices: { EUR: 1190 } }] }, 10);
    const variantId = product.variants[0]?.id as string;
    const { cartId, who } = await readyCart([{ variantId, quantity: 2 }]);

    const res = await checkoutCall(cartId, who, crypto.randomUUID());
    expect(res.status, await res.clone().text()).toBe(201);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const body = (await res.json()) as CheckoutBody & { order: Record<string, unknown> };
    expect(body.order).toMatchObject({
      status: 'paid',
      currency: 'EUR',
      subtotal: 2380,
      shipping_total: 490,
      total: 2870,
      tax_inclusive: true,
      shipping_method: { id: cheapest.id, name: 'Standard', amount: 490 },
      shipping_address: { ...SHIPPING_ADDRESS, company: null, line2: null, province: null, phone: null },
      fulfillments: [],
    });
    expect(body.order_token).toMatch(/^ot_/);
    expect(body.payment).toStrictEqual({
      id: expect.stringMatching(/^pay_/),
      provider: 'manual',
      status: 'authorized',
      client_secret: null,
    });

    expect(await stock(variantId)).toMatchObject({ on_hand: 8, reserved: 0, available: 8 });
    expect(await cartState(cartId)).toMatchObject({ status: 'completed', completed_order_id: body.order.id });
    const [order] = await rows(
      'SELECT status, stock_status, cart_id FROM orders WHERE id = ?',
      body.order.id,
    );
    expect(order).toStrictEqual({ status: 'paid', stock_status: 'sold', cart_id: cartId });
    const events = await rows(
      "SELECT type FROM outbox_events WHERE aggregate_id IN (?, ?, ?) AND type NOT IN ('cart.created', 'cart.updated') ORDER BY rowid",
      cartId,
      body.order.id,
      body.payment?.id,
    );
    expect(events.map((e) => e.type)).toStrictEqual([
      'cart.checkout_started',
      'order.created',
      'order.paid',
      'payment.authorized',
    ]);

    const read = await call(`/v1/store/orders/${body.order.id}`, {
      headers: { 'X-Order-Token': body.order_token as string },
    });
    expect(read.status).toBe(200);
    expect(await read.json()).toStrictEqual(body.order);
  });

  it('answers a retry with the same Idempotency-Key with the first response, and places nothing twice', async () => {
    const product = await stockedProduct({ variants: [{ prices: { EUR: 500 } }] }, 5);
    const variantId = product.variants[0]?.id as string;
    const { cartId, who } = await readyCart([{ variantId }]);
    const key = crypto.randomUUID();

    const first = await checkoutCall(cartId, who, key);
    expect(first.status).toBe(201);
    const retry = await checkoutCall(cartId, who, key);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('Idempotent-Replayed')).toBe('true');
    expect(await retry.json()).toStrictEqual(await first.json());
    expect(await rows('SELECT id FROM orders WHERE cart_id = ?', cartId)).toHaveLength(1);
    expect(await stock(variantId)).toMatchObject({ on_hand: 4 });

    // Another key for the same cart: the cart is done.
    await expectProblem(await checkoutCall(cartId, who, crypto.randomUUID()), 409, 'cart_completed');
    // The same key with another body is another request.
    await expectProblem(
      await checkoutCall(cartId, who, key, { provider: 'stripe' }),
      422,
      'idempotency_key_reused',
    );
  });

  it('needs an Idempotency-Key, and a cart the caller may use before anything else', async () => {
    const product = await stockedProduct({ variants: [{ prices: { EUR: 500 } }] }, 5);
    const { cartId, who } = await readyCart([{ variantId: product.variants[0]?.id as string }]);
    await expectProblem(await checkoutCall(cartId, who, null), 400, 'idempotency_key_required');
    await expectProblem(
      await checkoutCall(cartId, { token: 'wrong' }, crypto.randomUUID()),
      404,
      'cart_not_found',
    );
    await expectProblem(await checkoutCall(cartId, {}, null), 404, 'cart_not_found');
    expect(await cartState(cartId)).toMatchObject({ status: 'open' });
  });

  it('places a signed-in customer’s order under their account, with no order token', async () => {
    const shopper = await registerCustomer();
    const product = await stockedProduct({ variants: [{ prices: { EUR: 500 } }] }, 5);
    const { cartId, who } = await readyCart([{ variantId: product.variants[0]?.id as string }], {
      accessToken: shopper.tokens.access_token,
    });
    const res = await checkoutCall(cartId, who, crypto.randomUUID());
    expect(res.status, await res.clone().text()).toBe(201);
    const body = (await res.json()) as CheckoutBody;
    expect(body.order_token).toBeUndefined();
    const mine = await call('/v1/store/orders', { headers: bearer(shopper.tokens.access_token) });
    expect(((await mine.json()) as { data: { id: string }[] }).data.map((o) => o.id)).toStrictEqual([
      body.order.id,
    ]);
  });
});

describe('a cart that cannot be checked out yet', () => {
  it('is refused with what to fix, before anything is held or charged', async () => {
    const product = await stockedProduct({ variants: [{ prices: { EUR: 500 } }] }, 5);
    const variantId = product.variants[0]?.id as string;

    const empty = await readyCart([]);
    await expectProblem(await checkoutCall(empty.cartId, empty.who, crypto.randomUUID()), 422, 'cart_empty');

    const noEmail = await readyCart([{ variantId }]);
    await patchCart(noEmail.cartId, noEmail.who, { email: null });
    await expectProblem(
      await checkoutCall(noEmail.cartId, noEmail.who, crypto.randomUUID()),
      422,
      'email_required',
    );

    // An address no writer takes now, stored before they all checked (an identity provider's, copied to its carts).
    const unusableEmail = await readyCart([{ variantId }]);
    await env.DB.prepare('UPDATE carts SET email = ? WHERE id = ?')
      .bind('"ivan smith"@example.com', unusableEmail.cartId)
      .run();
    await expectProblem(
      await checkoutCall(unusableEmail.cartId, unusableEmail.who, crypto.randomUUID()),
      422,
      'email_required',
    );

    const noAddress = await readyCart([{ variantId }]);
    await patchCart(noAddress.cartId, noAddress.who, { shipping_address: null });
    await expectProblem(
      await checkoutCall(noAddress.cartId, noAddress.who, crypto.randomUUID()),
      422,
      'shipping_address_required',
    );

    for (const { cartId } of [empty, noEmail, unusableEmail, noAddress]) {
      expect(await cartState(cartId)).toMatchObject({ status: 'open', checkout_started_at: null });
      expect(await rows('SELECT id FROM orders WHERE cart_id = ?', cartId)).toStrictEqual([]);
    }
    expect(await stock(variantId)).toMatchObject({ on_hand: 5 });
  });

  it('with not enough stock: 409 out_of_stock, every hold released, the cart open again', async () => {
    const plenty = await stockedProduct({ variants: [{ prices: { EUR: 500 } }] }, 10);
    const scarce = await stockedProduct({ variants: [{ prices: { EUR: 500 } }] }, 1);
    const plentyId = plenty.variants[0]?.id as string;
    const scarceId = scarce.variants[0]?.id as string;
    const { cartId, who } = await readyCart([{ variantId: plentyId, quantity: 3 }, { variantId: scarceId }]);
    // The cart's hold on the last scarce unit lapses, and another cart takes the unit.
    await releaseStock(env.INVENTORY_ITEM, scarceId, `${cartId}:${scarceId}`);
    const other = await readyCart([{ variantId: scarceId }]);

    const res = await checkoutCall(cartId, who, crypto.randomUUID());
    expect(res.status).toBe(409);
    expect(await problemOf(res)).toMatchObject({ code: 'out_of_stock', available: 0 });
    expect(await stock(plentyId)).toMatchObject({ on_hand: 10, reserved: 0 });
    expect(await stock(scarceId)).toMatchObject({ on_hand: 1, reserved: 1 });
    expect(await cartState(other.cartId)).toMatchObject({ status: 'open' });
    expect(await cartState(cartId)).toMatchObject({ status: 'open', checkout_started_at: null });
    expect(await rows('SELECT id FROM payments WHERE cart_id = ?', cartId)).toStrictEqual([]);
    expect((await getCart(cartId, who)).status).toBe('open');
  });
});

describe('a sold-out SKU', () => {
  it('refuses a cart whose hold lapsed before locking anything: 409 out_of_stock, no checkout started', async () => {
    const product = await stockedProduct({ variants: [{ prices: { EUR: 500 } }] }, 1);
    const variantId = product.variants[0]?.id as string;
    const { cartId, who } = await readyCart([{ variantId }]);
    await releaseStock(env.INVENTORY_ITEM, variantId, `${cartId}:${variantId}`);
    await rows('UPDATE cart_lines SET reservation_expires_at = ? WHERE cart_id = ?', Date.now() - 1, cartId);
    await readyCart([{ variantId }]);

    const res = await checkoutCall(cartId, who, crypto.randomUUID());
    expect(res.status).toBe(409);
    expect(await problemOf(res)).toMatchObject({ code: 'out_of_stock', available: 0 });
    expect(
      await rows(
        "SELECT id FROM outbox_events WHERE aggregate_id = ? AND type = 'cart.checkout_started'",
        cartId,
      ),
    ).toStrictEqual([]);
    expect(await cartState(cartId)).toMatchObject({ status: 'open', checkout_started_at: null });
  });

  it('checks out a cart whose hold lapsed when the SKU takes backorders: the order sells what is not on hand', async () => {
    const product = await stockedProduct({ variants: [{ prices: { EUR: 500 } }] }, 0);
    const variantId = product.variants[0]?.id as string;
    const preorders = await admin('PATCH', `/inventory/${variantId}`, {
      backorder: 'allow',
      reason: 'preorders',
    });
    expect(preorders.status, await preorders.clone().text()).toBe(200);
    const { cartId, who } = await readyCart([{ variantId, quantity: 2 }]);
    await releaseStock(env.INVENTORY_ITEM, variantId, `${cartId}:${variantId}`);
    await rows('UPDATE cart_lines SET reservation_expires_at = ? WHERE cart_id = ?', Date.now() - 1, cartId);

    const res = await checkoutCall(cartId, who, crypto.randomUUID());
    expect(res.status, await res.clone().text()).toBe(201);
    const { order } = (await res.json()) as CheckoutBody;
    expect(await rows('SELECT status, stock_status FROM orders WHERE id = ?', order.id)).toStrictEqual([
      { status: 'paid', stock_status: 'sold' },
    ]);
    expect(await stock(variantId)).toMatchObject({ on_hand: -2, reserved: 0, available: -2 });
  });
});

describe('a cart changed while checkout prices it', () => {
  it('is refused with 409 cart_changed, even in the same millisecond: no order, the removed line never charged', async () => {
    const product = await stockedProduct(
      { variants: [{ prices: { EUR: 500 } }, { prices: { EUR: 700 } }] },
      5,
    );
    const [kept, removed] = product.variants.map((v) => v.id) as [string, string];
    const { cartId, who } = await readyCart([{ variantId: kept }, { variantId: removed }]);
    const line = (await getCart(cartId, who)).lines.find((l) => l.variant_id === removed)?.id;
    // The removal lands after checkout read and priced the cart, before its lock, in the millisecond the cart
    // was last written: only the cart's version can tell checkout that it changed.
    holdClockAt((await cartRow(cartId)).updatedAt);
    const removal = async () => {
      expect((await cartCall('DELETE', `/carts/${cartId}/line-items/${line}`, who)).status).toBe(200);
    };
    const key = { scope: `cart:${cartId}`, key: crypto.randomUUID(), requestHash: 'same-millisecond' };
    const claim = await claimIdempotencyKey(createDb(env.DB), key);
    if (!('claimed' in claim)) throw new Error('the key was not claimed');
    const attempt = checkout(writeLandsBeforeBatch('carts', removal, 'update'), systemCaller('test', 'run'), {
      cartId,
      shopper: { customerId: null, cartToken: who.token ?? undefined },
      locales: () => ['en'],
      idempotency: claim.claimed,
    });

    await expect(attempt).rejects.toMatchObject({ status: 409, code: 'cart_changed' });
    expect(await cartState(cartId)).toStrictEqual({
      status: 'open',
      checkout_started_at: null,
      completed_order_id: null,
    });
    expect(await rows('SELECT id FROM orders WHERE cart_id = ?', cartId)).toStrictEqual([]);
    expect(await rows('SELECT id FROM payments WHERE cart_id = ?', cartId)).toStrictEqual([]);
    expect(
      await rows(
        "SELECT id FROM outbox_events WHERE aggregate_id = ? AND type = 'cart.checkout_started'",
        cartId,
      ),
    ).toStrictEqual([]);

    // Sent again, checkout charges the cart as it is now: the kept line and shipping.
    const res = await checkoutCall(cartId, who, crypto.randomUUID());
    expect(res.status, await res.clone().text()).toBe(201);
    const { order } = (await res.json()) as CheckoutBody & { order: { subtotal: number } };
    expect([order.subtotal, order.total, order.lines.map((l) => l.quantity)]).toStrictEqual([500, 990, [1]]);
  });
});

describe('a line lowered by a request that read the cart before checkout locked it', () => {
  it('leaves the checkout its units: the lowering is refused (409 cart_not_open), another shopper gets none, the order sells both', async () => {
    const product = await stockedProduct({ variants: [{ prices: { EUR: 500 } }] }, 2);
    const variantId = product.variants[0]?.id as string;
    const { cartId, who } = await readyCart([{ variantId, quantity: 2 }]);
    const read = await cartRow(cartId);
    const line = (await getCart(cartId, who)).lines[0]?.id as string;
    const other = await guestCart();
    let otherAdd: Response | undefined;
    // In a flash sale, another shopper adds the SKU while the lowering request runs.
    const otherShopperAdds = async () => {
      otherAdd = await cartCall('POST', `/carts/${other.cart.id}/line-items`, other.who, {
        variant_id: variantId,
        quantity: 1,
      });
    };
    // The shopper lowers the line to 1 in another tab: that request read the cart while it was still open, and
    // runs after checkout held the lines, before checkout's order batch.
    const lowering = async () => {
      const lowered = updateLineItem(
        writeLandsBeforeBatch('cart_lines', otherShopperAdds, 'update'),
        systemCaller('test', 'run'),
        read,
        line,
        1,
        () => ['en'],
      );
      await expect(lowered).rejects.toMatchObject({ status: 409, code: 'cart_not_open' });
    };
    const claim = await claimIdempotencyKey(createDb(env.DB), {
      scope: `cart:${cartId}`,
      key: crypto.randomUUID(),
      requestHash: 'lowered-meanwhile',
    });
    if (!('claimed' in claim)) throw new Error('the key was not claimed');

    const placed = await checkout(
      writeLandsBeforeBatch('orders', lowering, 'insert into'),
      systemCaller('test', 'run'),
      {
        cartId,
        shopper: { customerId: null, cartToken: who.token ?? undefined },
        locales: () => ['en'],
        idempotency: claim.claimed,
      },
    );

    expect([placed.order.status, placed.order.lines.map((l) => l.quantity)]).toStrictEqual(['paid', [2]]);
    const refused = otherAdd as Response;
    expect(refused.status).toBe(409);
    expect(await problemOf(refused)).toStrictEqual({
      type: 'https://edgecart.dev/problems/out_of_stock',
      title: 'Conflict',
      status: 409,
      detail: 'Not enough stock: 0 available.',
      code: 'out_of_stock',
      available: 0,
      request_id: refused.headers.get('X-Request-Id'),
    });
    expect(await rows('SELECT status, stock_status FROM orders WHERE cart_id = ?', cartId)).toStrictEqual([
      { status: 'paid', stock_status: 'sold' },
    ]);
    expect(await stock(variantId)).toMatchObject({ on_hand: 0, reserved: 0, available: 0 });
  });
});

describe('a discount code at checkout', () => {
  async function discount(body: Record<string, unknown>) {
    const res = await admin('POST', '/discounts', {
      code: `SALE${crypto.randomUUID().slice(0, 6).toUpperCase()}`,
      type: 'percentage',
      percentage_bps: 1000,
      ...body,
    });
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as { id: string; code: string };
  }

  it('is redeemed with the order; of two checkouts racing for its last use, one wins and the other is undone', async () => {
    const code = await discount({ usage_limit: 1 });
    const product = await stockedProduct({ variants: [{ prices: { EUR: 1000 } }] }, 10);
    const variantId = product.variants[0]?.id as string;
    const carts = [await readyCart([{ variantId }]), await readyCart([{ variantId }])];
    for (const { cartId, who } of carts) await patchCart(cartId, who, { discount_code: code.code });

    const responses = await Promise.all(
      carts.map(({ cartId, who }) => checkoutCall(cartId, who, crypto.randomUUID())),
    );
    expect(responses.map((r) => r.status).sort()).toStrictEqual([201, 409]);
    const winner = (await responses.find((r) => r.status === 201)?.json()) as CheckoutBody & {
      order: { discount: unknown; discount_total: number };
    };
    expect(winner.order.discount).toStrictEqual({ code: code.code, amount: 100 });
    expect(winner.order.discount_total).toBe(100);
    const loser = responses.find((r) => r.status === 409) as Response;
    expect(await problemOf(loser)).toMatchObject({ code: 'discount_usage_limit_reached' });
    expect(
      await rows('SELECT order_id FROM discount_redemptions WHERE discount_id = ?', code.id),
    ).toStrictEqual([{ order_id: winner.order.id }]);
    // The loser's cart is open again, nothing of it held or recorded as paid.
    const states = await Promise.all(carts.map((c) => cartState(c.cartId)));
    expect(states.map((s) => s?.status).sort()).toStrictEqual(['completed', 'open']);
    expect(await stock(variantId)).toMatchObject({ on_hand: 9, reserved: 0 });
    const paid = await rows(
      'SELECT order_id FROM payments WHERE cart_id IN (?, ?)',
      carts[0]?.cartId,
      carts[1]?.cartId,
    );
    expect(paid).toStrictEqual([{ order_id: winner.order.id }]);
  });
});
