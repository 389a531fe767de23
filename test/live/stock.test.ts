/**
 * Stock from the storefront's side: a cart line holds units in the variant's InventoryItem object, and everyone
 * following the product sees what is left to buy, without the cart waiting for them.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { newId } from '../../src/lib/ids';
import type { Topic } from '../../src/lib/live-messages';
import { admin } from '../helpers/admin-fixtures';
import { addLine, cartOk, guestCart, stockedProduct } from '../helpers/carts';
import { seedRegions } from '../helpers/catalog-fixtures';
import { unique } from '../helpers/unique';
import { BOUNDED_POLL, connect } from './helpers';

beforeAll(seedRegions);

describe('a cart line', () => {
  it('sends the units left to the product’s subscribers when it holds some, and when it gives them back', async () => {
    const product = await stockedProduct({ variants: [{ prices: { EUR: 1000 } }] }, 5);
    const variant = product.variants[0]?.id as string;
    const topic = `product:${product.id}` as Topic;
    const live = await connect();
    // The stock set up for the product is the channel's retained state.
    expect(await live.subscribe(topic)).toMatchObject({ type: 'subscribed', seq: 1 });
    expect(await live.next()).toMatchObject({
      type: 'stock',
      seq: 1,
      data: { variant_id: variant, available: 5 },
    });

    const { cart, who } = await guestCart();
    const added = await addLine(cart.id, who, variant, 2);
    expect(await live.next()).toMatchObject({
      type: 'stock',
      seq: 2,
      data: {
        product_id: product.id,
        variant_id: variant,
        available: 3,
        level: 'in_stock',
        purchasable: true,
      },
    });
    const line = added.lines[0]?.id as string;
    await cartOk('DELETE', `/carts/${cart.id}/line-items/${line}`, who);
    expect(await live.next()).toMatchObject({ type: 'stock', seq: 3, data: { available: 5 } });
    await live.close();
  });
});

describe('a stock change whose live event cannot be sent', () => {
  it('still applies and answers; the failure is only logged', async () => {
    // A variant of a product whose id no live event can carry: the send fails after the write.
    const productId = 'prod_not a live id';
    const variantId = newId('var');
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO products (id, handle, status) VALUES (?, ?, 'active')`).bind(
        productId,
        unique('bad'),
      ),
      env.DB.prepare(
        `INSERT INTO variants (id, product_id, sku, title, options, position) VALUES (?, ?, ?, 'Bad', '{}', 0)`,
      ).bind(variantId, productId, unique('SKU-BAD')),
    ]);
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const res = await admin('PUT', `/inventory/${variantId}`, { on_hand: 4, reason: 'counted' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ variant_id: variantId, on_hand: 4, available: 4 });
    await vi.waitFor(
      () =>
        expect(errors.mock.calls.map(([line]) => JSON.parse(String(line)).msg)).toContain(
          'live stock not sent; the next change sends the latest figures',
        ),
      BOUNDED_POLL,
    );
    errors.mockRestore();
  });
});
