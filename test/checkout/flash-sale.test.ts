/**
 * A flash sale: many shoppers check out the same SKU at once while only a few units are left. Exactly that many
 * orders are placed, every other shopper gets a clear 409 `out_of_stock`, stock never goes below zero, and once
 * it is over nothing is left reserved.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { releaseStock, stockSnapshot } from '../../src/modules/inventory/stock';
import { admin, rows } from '../helpers/admin-fixtures';
import { stockedProduct } from '../helpers/carts';
import { seedRegions } from '../helpers/catalog-fixtures';
import { checkoutCall, readyCart, shippingOption } from '../helpers/checkout';
import { problemOf } from '../helpers/http';

const SHOPPERS = 30;
const UNITS = 5;

beforeAll(async () => {
  await seedRegions();
  await shippingOption('eu');
});

describe('a flash sale', () => {
  it(`of ${UNITS} units to ${SHOPPERS} shoppers at once: ${UNITS} orders, the rest out of stock, nothing oversold`, async () => {
    const product = await stockedProduct({ variants: [{ prices: { EUR: 1999 } }] }, SHOPPERS);
    const variantId = product.variants[0]?.id as string;
    // Every shopper put the SKU in their cart while there was plenty; then their holds lapsed and only a few
    // units were left. Checkout must hold them again, and only some can.
    const carts = [];
    for (let i = 0; i < SHOPPERS; i++) carts.push(await readyCart([{ variantId }]));
    for (const { cartId } of carts) {
      await releaseStock(env.INVENTORY_ITEM, variantId, `${cartId}:${variantId}`);
      await rows(
        'UPDATE cart_lines SET reservation_expires_at = ? WHERE cart_id = ?',
        Date.now() - 1,
        cartId,
      );
    }
    const set = await admin('PUT', `/inventory/${variantId}`, { on_hand: UNITS, reason: 'flash sale' });
    expect(set.status).toBe(200);

    const responses = await Promise.all(
      carts.map(({ cartId, who }) => checkoutCall(cartId, who, crypto.randomUUID())),
    );

    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(UNITS);
    expect(statuses.filter((s) => s === 409)).toHaveLength(SHOPPERS - UNITS);
    for (const res of responses.filter((r) => r.status === 409)) {
      expect(await problemOf(res)).toMatchObject({ status: 409, code: 'out_of_stock' });
    }
    const orders = await rows(
      `SELECT o.id, o.status, o.stock_status FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE l.variant_id = ?`,
      variantId,
    );
    expect(orders).toHaveLength(UNITS);
    expect(orders.every((o) => o.status === 'paid' && o.stock_status === 'sold')).toBe(true);
    expect(await stockSnapshot(env.INVENTORY_ITEM, variantId)).toMatchObject({
      on_hand: 0,
      reserved: 0,
      available: 0,
      reservation_count: 0,
    });
    // The losers' carts are open again and hold nothing; the winners' are completed.
    const cartStates = await rows(
      `SELECT status, count(*) AS n FROM carts WHERE id IN (${carts.map(() => '?').join(',')}) GROUP BY status ORDER BY status`,
      ...carts.map((c) => c.cartId),
    );
    expect(cartStates).toStrictEqual([
      { status: 'completed', n: UNITS },
      { status: 'open', n: SHOPPERS - UNITS },
    ]);
  });
});
