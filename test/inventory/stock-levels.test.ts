/**
 * Stock levels for a listing page: what `stock_levels` holds for the page's products, outside the cached listing,
 * in the order asked, with one indexed query whatever the catalog's size.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/lib/ids';
import { reserveStock } from '../../src/modules/inventory/stock';
import { stockLevelsSql } from '../../src/modules/inventory/store-read';
import { MAX_STOCK_LEVEL_PRODUCTS } from '../../src/modules/inventory/store-schemas';
import { insertProductRow, seedRegions } from '../helpers/catalog-fixtures';
import { call, expectProblem } from '../helpers/http';
import { ns, source, stockUp, stub } from './helpers';

beforeAll(async () => {
  await seedRegions();
});

const levels = (ids: string[]) => call(`/v1/store/stock-levels?product_ids=${ids.join(',')}`);

describe('GET /v1/store/stock-levels', () => {
  it('answers each active product’s level and its variants’, in the order asked, and follows the stock', async () => {
    const shirt = await insertProductRow({
      variants: [{ prices: { EUR: 1000 } }, { prices: { EUR: 1200 } }],
    });
    const mug = await insertProductRow({ variants: [{ prices: { EUR: 900 } }] });
    const draft = await insertProductRow({ status: 'draft', variants: [{ prices: { EUR: 500 } }] });
    const [few, never] = shirt.variants;
    const [plenty] = mug.variants;
    if (!few || !never || !plenty) throw new Error('fixtures have their variants');
    await stockUp(few.id, 3);
    await stub(few.id).configure(
      { variantId: few.id },
      { changeId: newId('adj'), lowStockThreshold: 5, ...source() },
    );
    await stub(few.id).flush();
    await stockUp(plenty.id, 10);

    const res = await levels([mug.id, shirt.id, draft.id, mug.id]);
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('public, max-age=5');
    expect(res.headers.get('X-Cache')).toBeNull();
    expect(await res.json()).toStrictEqual({
      data: [
        { product_id: mug.id, level: 'in_stock', variants: [{ variant_id: plenty.id, level: 'in_stock' }] },
        {
          product_id: shirt.id,
          level: 'low_stock',
          variants: [
            { variant_id: few.id, level: 'low_stock' },
            { variant_id: never.id, level: 'out_of_stock' },
          ],
        },
      ],
    });

    await reserveStock(ns(), plenty.id, {
      reservationId: 'line',
      owner: 'cart',
      quantity: 10,
      ttlMs: 60_000,
    });
    await stub(plenty.id).flush();
    expect(await (await levels([mug.id])).json()).toStrictEqual({
      data: [
        {
          product_id: mug.id,
          level: 'out_of_stock',
          variants: [{ variant_id: plenty.id, level: 'out_of_stock' }],
        },
      ],
    });
  });

  it('reads through the primary keys and the variants’ product index, never a scan', async () => {
    const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${stockLevelsSql(2)}`)
      .bind('prod_a', 'prod_b')
      .all<{ detail: string }>();
    expect(results.map((row) => row.detail)).toStrictEqual([
      // The page's ids reach the variants through the join (since products_status_id_idx, SQLite starts there).
      'SEARCH v USING INDEX variants_product_idx (product_id=?)',
      'SEARCH p USING INDEX sqlite_autoindex_products_1 (id=?)',
      'SEARCH s USING INDEX sqlite_autoindex_stock_levels_1 (variant_id=?) LEFT-JOIN',
      // Sorting the page's variants only.
      'USE TEMP B-TREE FOR ORDER BY',
    ]);
  });

  it('refuses what is not a page of product ids with a 422, before reading anything', async () => {
    const tooMany = Array.from({ length: MAX_STOCK_LEVEL_PRODUCTS + 1 }, () => newId('prod'));
    for (const [query, message] of [
      ['product_ids=', 'Not a product id'],
      ['product_ids=var_01JD3Q6C5W9ZK2M4T8R7XPN0AB', 'Not a product id'],
      [`product_ids=${tooMany.join(',')}`, `At most ${MAX_STOCK_LEVEL_PRODUCTS} products`],
    ] as const) {
      await expectProblem(await call(`/v1/store/stock-levels?${query}`), 422, 'validation_failed', [
        { pointer: expect.stringMatching(/^\/query\/product_ids/), message },
      ]);
    }
    await expectProblem(await call('/v1/store/stock-levels'), 422, 'validation_failed', [
      { pointer: '/query/product_ids', message: expect.any(String) },
    ]);
  });
});
