/**
 * The Worker dying between checkout's steps, against real D1 and InventoryItem objects: each step is done as
 * checkout does it, and then nothing more, as if the Worker had died; what follows shows that no path leaves
 * stock held forever, an order without its stock, or a payment without its order. Time is moved by writing the
 * past into rows (a lock's time, a hold's expiry, an order's creation), never by sleeping.
 */
import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { carts } from '../../src/db/schema';
import { runOrderStockJob } from '../../src/jobs/order-stock';
import { CRON_JOBS } from '../../src/jobs/schedule';
import { systemCaller } from '../../src/lib/caller';
import { commit } from '../../src/lib/commit';
import { createDb } from '../../src/lib/db';
import { CHECKOUT_LOCK_TTL_MS, lockCartForCheckout } from '../../src/modules/carts/checkout-hooks';
import { holdAll } from '../../src/modules/checkout/holds';
import { commitStock, stockSnapshot } from '../../src/modules/inventory/stock';
import { findOrder, loadOrderParts } from '../../src/modules/orders/read';
import { settleOrderStock } from '../../src/modules/orders/stock';
import { authorizePayment } from '../../src/modules/payments/service';
import { admin, rows } from '../helpers/admin-fixtures';
import { stockedProduct } from '../helpers/carts';
import { seedRegions } from '../helpers/catalog-fixtures';
import { type CheckoutBody, checkoutCall, readyCart, shippingOption } from '../helpers/checkout';
import { expectProblem } from '../helpers/http';
import { insertOrder, orderDraft } from '../helpers/order-fixtures';
import { commitWrites, guest } from '../helpers/payments';
import { expire, stub } from '../inventory/helpers';

const db = createDb(env.DB);
const caller = systemCaller('worker-death-test', 'run');

beforeAll(async () => {
  await seedRegions();
  await shippingOption('eu');
});

const stock = (variantId: string) => stockSnapshot(env.INVENTORY_ITEM, variantId);

async function product(onHand: number): Promise<string> {
  const made = await stockedProduct({ variants: [{ prices: { EUR: 1000 } }] }, onHand);
  return made.variants[0]?.id as string;
}

/** An order placed as checkout's batch leaves it: its lines' units still held for the cart. */
async function placedWithHeldStock(
  variantIds: string[],
  options: { minutesAgo?: number; status?: 'paid' | 'pending_payment' } = {},
) {
  const cartId = `cart_${crypto.randomUUID()}`;
  const template = orderDraft().lines[0]!;
  const lines = variantIds.map((variantId) => ({
    ...template,
    variantId,
    reservationId: `${cartId}:${variantId}`,
    quantity: 2,
  }));
  await holdAll(env, cartId, lines);
  return insertOrder({
    cartId,
    lines,
    status: options.status ?? 'paid',
    createdAt: new Date(Date.now() - (options.minutesAgo ?? 2) * 60_000),
  });
}

/** A placed order of 2 of 5 units whose sale the object made but D1 does not record yet (`held`). */
async function soldButNotRecorded() {
  const variantId = await product(5);
  const placed = await placedWithHeldStock([variantId]);
  const line = placed.lines[0]!;
  await commitStock(env.INVENTORY_ITEM, variantId, {
    reservationId: line.reservationId,
    orderId: placed.order.id,
    quantity: line.quantity,
  });
  return { variantId, placed };
}

const orderRow = async (id: string) =>
  (await rows('SELECT status, stock_status FROM orders WHERE id = ?', id))[0];

describe('the Worker dies right after', () => {
  it('locking the cart: the cart stays locked until its lock lapses, then a checkout takes it over', async () => {
    const variantId = await product(5);
    const { cartId, who } = await readyCart([{ variantId }]);
    const read = await db.select().from(carts).where(eq(carts.id, cartId)).get();
    await commit(db, caller, {
      conditional: true,
      statements: [lockCartForCheckout(db, read as NonNullable<typeof read>, new Date())],
    });
    await expectProblem(await checkoutCall(cartId, who, crypto.randomUUID()), 409, 'checkout_in_progress');

    await rows(
      'UPDATE carts SET checkout_started_at = ? WHERE id = ?',
      Date.now() - CHECKOUT_LOCK_TTL_MS - 1,
      cartId,
    );
    const res = await checkoutCall(cartId, who, crypto.randomUUID());
    expect(res.status, await res.clone().text()).toBe(201);
  });

  it('holding the lines: the holds expire and the object’s alarm releases them, with no request', async () => {
    const variantId = await product(3);
    const cartId = `cart_${crypto.randomUUID()}`;
    await holdAll(env, cartId, [{ variantId, reservationId: `${cartId}:${variantId}`, quantity: 3 }]);
    expect(await stock(variantId)).toMatchObject({ reserved: 3, available: 0 });

    await expire(variantId, `${cartId}:${variantId}`);
    expect(await runDurableObjectAlarm(stub(variantId))).toBe(true);
    expect(await stock(variantId)).toMatchObject({ on_hand: 3, reserved: 0, available: 3 });
  });

  it('authorizing: no order and no payment record; the retry with the same key reaches the same provider payment', async () => {
    const variantId = await product(5);
    const { cartId, who } = await readyCart([{ variantId }]);
    const key = crypto.randomUUID();
    // What checkout's step 3 sends for this cart (1000 + 490 shipping), and then the Worker is gone.
    const email = (await rows('SELECT email FROM carts WHERE id = ?', cartId))[0]?.email as string;
    const lost = await authorizePayment(db, env, guest(), {
      provider: 'manual',
      cartId,
      orderId: null,
      amount: 1490,
      currency: 'EUR',
      idempotencyKey: key,
      email,
    });
    if (lost.status === 'declined') throw new Error('the manual provider does not decline');
    expect(await rows('SELECT id FROM payments WHERE cart_id = ?', cartId)).toStrictEqual([]);

    const res = await checkoutCall(cartId, who, key);
    expect(res.status, await res.clone().text()).toBe(201);
    const body = (await res.json()) as CheckoutBody;
    const recorded = await rows('SELECT provider_ref FROM payments WHERE cart_id = ?', cartId);
    expect(recorded).toStrictEqual([{ provider_ref: lost.payment.providerRef }]);
    expect(body.order.status).toBe('paid');
  });

  it('committing the order: the sweep sells its held units once, however often it runs', async () => {
    const [a, b] = [await product(5), await product(5)];
    const placed = await placedWithHeldStock([a, b]);
    expect(await orderRow(placed.order.id)).toStrictEqual({ status: 'paid', stock_status: 'held' });

    await runOrderStockJob(env);
    await runOrderStockJob(env);

    expect(await orderRow(placed.order.id)).toStrictEqual({ status: 'paid', stock_status: 'sold' });
    expect(await stock(a)).toMatchObject({ on_hand: 3, reserved: 0 });
    expect(await stock(b)).toMatchObject({ on_hand: 3, reserved: 0 });
  });

  it('selling the units but before recording it: the sweep finds them sold and changes nothing more', async () => {
    const { variantId, placed } = await soldButNotRecorded();

    await runOrderStockJob(env);

    expect(await orderRow(placed.order.id)).toStrictEqual({ status: 'paid', stock_status: 'sold' });
    expect(await stock(variantId)).toMatchObject({ on_hand: 3, reserved: 0 });
  });

  it('leaves a fresh order to its own request: the sweep waits a minute before selling', async () => {
    const variantId = await product(5);
    const placed = await placedWithHeldStock([variantId], { minutesAgo: 0 });
    await runOrderStockJob(env);
    expect(await orderRow(placed.order.id)).toStrictEqual({ status: 'paid', stock_status: 'held' });
  });
});

describe('an order whose held units are gone by the time they are sold', () => {
  it('is canceled with its payment voided, and what was sold of it goes back', async () => {
    const [plenty, scarce] = [await product(5), await product(2)];
    const placed = await placedWithHeldStock([plenty, scarce]);
    const authorized = await authorizePayment(db, env, guest(), {
      provider: 'manual',
      cartId: placed.order.cartId,
      orderId: placed.order.id,
      amount: placed.order.total,
      currency: 'EUR',
      idempotencyKey: crypto.randomUUID(),
    });
    if (authorized.status === 'declined') throw new Error('the manual provider does not decline');
    await commitWrites(guest(), authorized.writes);
    // The scarce hold expires and another cart takes both units.
    await expire(scarce, `${placed.order.cartId}:${scarce}`);
    await holdAll(env, 'cart_other', [{ variantId: scarce, reservationId: 'cart_other:x', quantity: 2 }]);

    await runOrderStockJob(env);

    expect(await orderRow(placed.order.id)).toStrictEqual({ status: 'canceled', stock_status: 'returned' });
    expect(await stock(plenty)).toMatchObject({ on_hand: 5, reserved: 0 });
    expect(await stock(scarce)).toMatchObject({ on_hand: 2, reserved: 2 });
    expect(await rows('SELECT status FROM payments WHERE order_id = ?', placed.order.id)).toStrictEqual([
      { status: 'voided' },
    ]);
    expect(
      await rows(
        "SELECT reason FROM order_transitions WHERE order_id = ? AND action = 'cancel'",
        placed.order.id,
      ),
    ).toStrictEqual([{ reason: 'out of stock when the sale was completed' }]);
  });
});

describe('an order canceled while its units are being sold', () => {
  const cancel = async (orderId: string) => {
    const res = await admin('POST', `/orders/${orderId}/cancel`, { reason: 'Customer asked' });
    expect(res.status, await res.clone().text()).toBe(200);
  };

  it('gets them back when the sale was made but not recorded yet (its Worker died, or is still running)', async () => {
    const { variantId, placed } = await soldButNotRecorded();

    await cancel(placed.order.id);
    await runOrderStockJob(env);

    expect(await orderRow(placed.order.id)).toStrictEqual({ status: 'canceled', stock_status: 'returned' });
    expect(await stock(variantId)).toMatchObject({ on_hand: 5, reserved: 0, available: 5 });
  });

  it('gets back what a sale that read the order before the cancel sold afterwards', async () => {
    const variantId = await product(5);
    const placed = await placedWithHeldStock([variantId]);
    // The sweep (or checkout's follow-up) read the order while it was live, then the cancel ran in full.
    const read = await loadOrderParts(db, await findOrder(db, placed.order.id));
    await cancel(placed.order.id);

    await settleOrderStock(env, caller, read.order, read.lines);
    await runOrderStockJob(env);

    expect(await orderRow(placed.order.id)).toStrictEqual({ status: 'canceled', stock_status: 'returned' });
    expect(await stock(variantId)).toMatchObject({ on_hand: 5, reserved: 0, available: 5 });
  });
});

describe('an order that was never paid', () => {
  it('is canceled after 30 minutes, its payment voided and its units returned', async () => {
    const variantId = await product(5);
    const placed = await placedWithHeldStock([variantId], { status: 'pending_payment', minutesAgo: 31 });
    await runOrderStockJob(env);
    expect(await orderRow(placed.order.id)).toStrictEqual({ status: 'canceled', stock_status: 'returned' });
    expect(await stock(variantId)).toMatchObject({ on_hand: 5, reserved: 0 });
  });
});

describe('the stock sweep', () => {
  it('runs every minute', () => {
    expect(CRON_JOBS['* * * * *']).toContain(runOrderStockJob);
  });
});
