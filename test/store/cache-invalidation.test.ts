/**
 * What a catalog write makes unreachable in the edge cache (src/lib/catalog-version-bumps.ts), seen from the
 * storefront: a product write moves its own page and the listings, never another product's page; a category or
 * collection write moves the pages of the products whose page it changes; a region write moves everything; a
 * refused write moves nothing. And how a write made at another location reaches this isolate: by the incremental read
 * of the versions, at most REFRESH_MS later (plus replica lag, which local D1 does not have).
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { prices } from '../../src/db/schema';
import { CHANGED_SINCE_SQL, REFRESH_MS } from '../../src/lib/cache-versions';
import { CatalogVersionBump } from '../../src/lib/catalog-version-bumps';
import { createDb } from '../../src/lib/db';
import { refreshStorefront } from '../../src/modules/storefront/projection';
import {
  type AdminProductBody,
  admin,
  createCategory,
  createCollection,
  createProduct,
  expectRejected,
} from '../helpers/admin-fixtures';
import { cacheVersionRows } from '../helpers/cache-versions';
import { seedRegions } from '../helpers/catalog-fixtures';
import { call } from '../helpers/http';
import { cacheStatusOf } from '../helpers/request-cost';
import { unique } from '../helpers/unique';

type Detail = {
  product: {
    title: string;
    price_range: { min: { amount: number } };
    categories: { name: string }[];
    collections: { title: string }[];
  };
};

/** A storefront GET from Germany (region eu): its status, the cache's verdict and the body. */
async function shop(path: string) {
  const res = await call(path, { cf: { country: 'DE' } });
  return { status: res.status, cache: cacheStatusOf(res), body: (await res.json()) as Detail };
}

const page = (product: { handle: string }) => `/v1/store/products/${product.handle}`;
const LISTING = '/v1/store/products?limit=100';

/** Active products priced in EUR, so region eu sells them. */
const activeProduct = (overrides: Record<string, unknown> = {}) =>
  createProduct({ status: 'active', ...overrides });

/** Requests each path until it is cached, so the next request of each is a HIT unless a write moved it. */
async function warm(...paths: string[]) {
  for (const path of paths) {
    await shop(path);
    expect((await shop(path)).cache, path).toBe('HIT');
  }
}

async function verdicts(...paths: string[]) {
  const result: Record<string, string | undefined> = {};
  for (const path of paths) result[path] = (await shop(path)).cache;
  return result;
}

beforeAll(seedRegions);

beforeEach(() => {
  // A frozen clock: this isolate re-reads the versions only after its own writes, or when a test moves time.
  vi.useFakeTimers({ toFake: ['Date'] });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('a product write', () => {
  let a: AdminProductBody;
  let b: AdminProductBody;
  beforeEach(async () => {
    a = await activeProduct();
    b = await activeProduct();
    await warm(page(a), page(b), LISTING);
  });

  it('moves its own page and the listings, not another product’s page', async () => {
    const patched = await admin('PATCH', `/products/${a.id}`, { translations: { en: { title: 'Renamed' } } });
    expect(patched.status).toBe(200);

    const fresh = await shop(page(a));
    expect([fresh.cache, fresh.body.product.title]).toStrictEqual(['MISS', 'Renamed']);
    expect(await verdicts(page(b), LISTING)).toStrictEqual({ [page(b)]: 'HIT', [LISTING]: 'MISS' });
  });

  it('moves the page under the old handle and under the new one when it renames the product', async () => {
    const handle = unique('renamed');
    expect((await admin('PATCH', `/products/${a.id}`, { handle })).status).toBe(200);

    expect((await shop(page(a))).status).toBe(404);
    expect(await verdicts(page({ handle }), page(b))).toStrictEqual({
      [page({ handle })]: 'MISS',
      [page(b)]: 'HIT',
    });
  });

  it('moves its page when a variant’s prices change', async () => {
    const [variant] = a.variants;
    const res = await admin('PUT', `/variants/${variant?.id}/prices`, {
      prices: [{ currency: 'EUR', amount: 4242 }],
    });
    expect(res.status).toBe(200);

    const fresh = await shop(page(a));
    expect([fresh.cache, fresh.body.product.price_range.min.amount]).toStrictEqual(['MISS', 4242]);
    expect((await shop(page(b))).cache).toBe('HIT');
  });

  it('moves its page when it is deleted, so the page is gone at once', async () => {
    expect((await admin('DELETE', `/products/${a.id}`)).status).toBe(204);
    expect((await shop(page(a))).status).toBe(404);
    expect((await shop(page(b))).cache).toBe('HIT');
  });

  it('moves nothing when it is refused', async () => {
    // expectRejected also proves that no catalog row and no cache version changed.
    await expectRejected(
      () => admin('PATCH', `/products/${a.id}`, { handle: b.handle }),
      409,
      'handle_taken',
      [{ pointer: '/body/handle', message: expect.any(String) }],
    );
    expect(await verdicts(page(a), page(b), LISTING)).toStrictEqual({
      [page(a)]: 'HIT',
      [page(b)]: 'HIT',
      [LISTING]: 'HIT',
    });
  });
});

describe('a category or collection write', () => {
  it('moves the pages of the category’s products and the listings, not other pages', async () => {
    const category = await createCategory({ translations: { en: { name: 'Mugs' } } });
    const member = await activeProduct({ category_ids: [category.id] });
    const other = await activeProduct();
    await warm(page(member), page(other), '/v1/store/categories');

    const res = await admin('PATCH', `/categories/${category.id}`, {
      translations: { en: { name: 'Cups' } },
    });
    expect(res.status).toBe(200);

    const fresh = await shop(page(member));
    expect([fresh.cache, fresh.body.product.categories.map((c) => c.name)]).toStrictEqual(['MISS', ['Cups']]);
    expect(await verdicts(page(other), '/v1/store/categories')).toStrictEqual({
      [page(other)]: 'HIT',
      '/v1/store/categories': 'MISS',
    });
  });

  it('moves the pages of the products a collection had and of those it gets', async () => {
    const [before, after, other] = [await activeProduct(), await activeProduct(), await activeProduct()];
    const collection = await createCollection({
      translations: { en: { title: 'Summer' } },
      product_ids: [before.id],
    });
    await warm(page(before), page(after), page(other));

    const res = await admin('PATCH', `/collections/${collection.id}`, { product_ids: [after.id] });
    expect(res.status).toBe(200);

    const left = await shop(page(before));
    const joined = await shop(page(after));
    expect([left.cache, left.body.product.collections]).toStrictEqual(['MISS', []]);
    expect([joined.cache, joined.body.product.collections.map((c) => c.title)]).toStrictEqual([
      'MISS',
      ['Summer'],
    ]);
    expect((await shop(page(other))).cache).toBe('HIT');
  });

  it('leaves the pages of a category’s products cached when it only moves or changes its position', async () => {
    // A page names the categories its product is directly in (id, handle, name), never their parents or order:
    // a move or a new position moved every such page all the same, one version row per product of the category.
    const [parent, category] = [await createCategory(), await createCategory()];
    const member = await activeProduct({ category_ids: [category.id] });
    await warm(page(member), '/v1/store/categories');
    const versions = await cacheVersionRows();

    const res = await admin('PATCH', `/categories/${category.id}`, { parent_id: parent.id, position: 7 });
    expect(res.status).toBe(200);

    expect(await verdicts(page(member), '/v1/store/categories')).toStrictEqual({
      [page(member)]: 'HIT',
      '/v1/store/categories': 'MISS',
    });
    expect((await cacheVersionRows())[`product:${member.handle}`]).toBe(versions[`product:${member.handle}`]);
  });

  it('leaves the pages of the products a collection keeps cached when only its product list changes', async () => {
    // A kept product's page names the collection as before; the new list moved its page with the others'.
    const [kept, leaving, joining] = [await activeProduct(), await activeProduct(), await activeProduct()];
    const collection = await createCollection({ product_ids: [kept.id, leaving.id] });
    await warm(page(kept), page(leaving), page(joining));

    const res = await admin('PATCH', `/collections/${collection.id}`, { product_ids: [kept.id, joining.id] });
    expect(res.status).toBe(200);

    expect(await verdicts(page(kept), page(leaving), page(joining))).toStrictEqual({
      [page(kept)]: 'HIT',
      [page(leaving)]: 'MISS',
      [page(joining)]: 'MISS',
    });
  });

  it('moves the pages of a deleted category’s products, whose links the delete removes', async () => {
    const category = await createCategory();
    const member = await activeProduct({ category_ids: [category.id] });
    await warm(page(member));

    expect((await admin('DELETE', `/categories/${category.id}`)).status).toBe(204);

    const fresh = await shop(page(member));
    expect([fresh.cache, fresh.body.product.categories]).toStrictEqual(['MISS', []]);
  });
});

describe('a region write', () => {
  it('moves every cached response', async () => {
    const product = await activeProduct();
    await warm(page(product), LISTING, '/v1/store/regions', '/v1/store/collections');
    const [eu] = (
      await (await admin('GET', '/regions?limit=100')).json<{ data: { id: string; code: string }[] }>()
    ).data.filter((r) => r.code === 'eu');

    expect((await admin('PATCH', `/regions/${eu?.id}`, { name: 'Europe (EUR)' })).status).toBe(200);

    expect(
      await verdicts(page(product), LISTING, '/v1/store/regions', '/v1/store/collections'),
    ).toStrictEqual({
      [page(product)]: 'MISS',
      [LISTING]: 'MISS',
      '/v1/store/regions': 'MISS',
      '/v1/store/collections': 'MISS',
    });
  });
});

describe('a write made at another location', () => {
  it('reaches this isolate when it next reads the versions, at most REFRESH_MS later', async () => {
    const product = await activeProduct();
    await warm(page(product));
    // Another location's write: the rows, their read model and the version change in one batch, and this isolate
    // is not told.
    const db = createDb(env.DB);
    await db.batch([
      db
        .update(prices)
        .set({ amount: 777 })
        .where(eq(prices.variantId, product.variants[0]?.id ?? '')),
      ...refreshStorefront(db, { products: [product.id] }),
      CatalogVersionBump.product(db, product.id).statement,
    ]);

    const stale = await shop(page(product));
    expect([stale.cache, stale.body.product.price_range.min.amount]).toStrictEqual(['HIT', 1999]);

    vi.setSystemTime(Date.now() + REFRESH_MS);
    const fresh = await shop(page(product));
    expect([fresh.cache, fresh.body.product.price_range.min.amount]).toStrictEqual(['MISS', 777]);
  });

  it('is found by a range seek on the version index, reading only what changed', async () => {
    const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${CHANGED_SINCE_SQL}`)
      .bind(0)
      .all<{ detail: string }>();
    expect(results.map((r) => r.detail)).toStrictEqual([
      'SEARCH cache_versions USING INDEX cache_versions_version_idx (version>?)',
    ]);
  });
});

describe('versions', () => {
  it('grow in commit order, also for writes within one millisecond', async () => {
    const [first, second] = [await activeProduct(), await activeProduct()];
    const db = createDb(env.DB);
    await db.batch([
      CatalogVersionBump.product(db, first.id).statement,
      CatalogVersionBump.product(db, second.id).statement,
    ]);
    const versions = await cacheVersionRows();
    expect(versions[`product:${second.handle}`]).toBeGreaterThan(versions[`product:${first.handle}`] ?? 0);
  });
});

describe('stock', () => {
  const SOURCES = import.meta.glob<string>('../../src/**/*.ts', {
    query: '?raw',
    import: 'default',
    eager: true,
  });

  it('cannot move a cache version: only the catalog’s own write services import the bumps', () => {
    const importers = Object.entries(SOURCES)
      .filter(([, source]) => /from '[./]+(lib\/)?catalog-version-bumps'/.test(source))
      .map(([path]) => path.replace('../../src/', ''))
      .sort();
    expect(importers).toStrictEqual([
      'lib/commit.ts',
      'modules/categories/admin-service.ts',
      'modules/collections/admin-service.ts',
      'modules/products/admin-service.ts',
      'modules/products/admin-variant-service.ts',
      'modules/regions/admin-service.ts',
      'modules/storefront/rebuild.ts',
    ]);
  });
});
