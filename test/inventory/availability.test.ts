/**
 * Exact availability on the storefront: straight from each variant's object on every request (no-store, never
 * in the edge cache), while stock changes leave the cached catalog responses cached.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/lib/ids';
import { reserveStock } from '../../src/modules/inventory/stock';
import { catalogVersion } from '../helpers/admin-fixtures';
import { insertProductRow, seedRegions } from '../helpers/catalog-fixtures';
import { call, expectProblem } from '../helpers/http';
import { ns, source, stockUp, stub } from './helpers';

beforeAll(async () => {
  await seedRegions();
});

const availability = (productId: string) => call(`/v1/store/products/${productId}/availability?region=eu`);

describe('GET /v1/store/products/{id}/availability', () => {
  it('answers per variant in catalog order, uncached, and follows every reservation', async () => {
    const product = await insertProductRow({
      variants: [{ prices: { EUR: 1000 } }, { prices: { EUR: 1200 } }],
    });
    const [low, none] = product.variants;
    if (!low || !none) throw new Error('fixture has two variants');
    await stockUp(low.id, 3);
    await stub(low.id).configure(
      { variantId: low.id },
      { changeId: newId('adj'), lowStockThreshold: 5, ...source() },
    );

    const res = await availability(product.id);
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(res.headers.get('X-Cache')).toBeNull();
    expect(res.headers.get('ETag')).toBeNull();
    expect(await res.json()).toStrictEqual({
      product_id: product.id,
      variants: [
        {
          variant_id: low.id,
          sku: low.sku,
          available: 3,
          level: 'low_stock',
          backorder: 'deny',
          purchasable: true,
        },
        {
          variant_id: none.id,
          sku: none.sku,
          available: 0,
          level: 'out_of_stock',
          backorder: 'deny',
          purchasable: false,
        },
      ],
    });

    await reserveStock(ns(), low.id, { reservationId: 'line', owner: 'cart', quantity: 3, ttlMs: 60_000 });
    expect(await (await availability(product.id)).json()).toMatchObject({
      variants: [{ variant_id: low.id, available: 0, level: 'out_of_stock', purchasable: false }, {}],
    });
  });

  it('leaves the cached catalog alone: a stock change bumps no version and the product stays a cache HIT', async () => {
    const product = await insertProductRow({ variants: [{ prices: { EUR: 1000 } }] });
    const [variant] = product.variants;
    if (!variant) throw new Error('fixture has a variant');
    const detail = () => call(`/v1/store/products/${product.handle}?region=eu`);
    await (await detail()).arrayBuffer();
    const version = await catalogVersion();

    await stockUp(variant.id, 10);
    await reserveStock(ns(), variant.id, {
      reservationId: 'line',
      owner: 'cart',
      quantity: 10,
      ttlMs: 60_000,
    });

    expect(await catalogVersion()).toBe(version);
    const res = await detail();
    expect(res.headers.get('X-Cache')).toBe('HIT');
    await res.arrayBuffer();
  });

  it('shows a backordered variant as purchasable with nothing available', async () => {
    const product = await insertProductRow({ variants: [{ prices: { EUR: 1000 } }] });
    const [variant] = product.variants;
    if (!variant) throw new Error('fixture has a variant');
    await stub(variant.id).configure(
      { variantId: variant.id },
      { changeId: newId('adj'), backorder: 'allow', ...source() },
    );
    await reserveStock(ns(), variant.id, {
      reservationId: 'line',
      owner: 'cart',
      quantity: 2,
      ttlMs: 60_000,
    });
    expect(await (await availability(product.id)).json()).toMatchObject({
      variants: [{ available: 0, level: 'out_of_stock', backorder: 'allow', purchasable: true }],
    });
  });

  it('is 404 for a product that is not active or does not exist, 422 for a malformed id', async () => {
    const draft = await insertProductRow({ status: 'draft' });
    await expectProblem(await availability(draft.id), 404, 'not_found');
    await expectProblem(await availability('prod_01ZZZZZZZZZZZZZZZZZZZZZZZZ'), 404, 'not_found');
    await expectProblem(await availability('x'.repeat(65)), 422, 'validation_failed', [
      { pointer: '/path/id', message: expect.any(String) },
    ]);
  });
});
