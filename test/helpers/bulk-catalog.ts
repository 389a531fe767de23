/**
 * A catalog of any size written with a handful of INSERT ... SELECT statements (a page's worth of rows or
 * thousands cost the same few round trips), in a region of its own, for tests of what queries cost as the
 * catalog grows. Every size has the same mix, so a filter matches the same share of it:
 * - two categories under one parent (products alternate), a collection holding every third product;
 * - three variants (S, M, L; one color per product, cycling Blue, Red, Green), priced 1,000-6,300 minor units;
 * - an English title with the catalog's tag (a word every product matches), German for every other product,
 *   a sparse word in every 40th product and a rare word in exactly ten products.
 */
import { env } from 'cloudflare:workers';
import { CacheVersions } from '../../src/lib/cache-versions';
import { newId } from '../../src/lib/ids';
import type { StoreContext } from '../../src/lib/store-context';
import { refreshReadModel } from './catalog-fixtures';

export type BulkCatalog = {
  store: StoreContext;
  parent: string;
  category: string;
  collection: string;
  /** In every product's title. */
  common: string;
  /** In every 40th product's title. */
  sparse: string;
  /** In exactly ten products' titles. */
  rare: string;
};

export async function seedBulkCatalog(tag: string, currency: string, count: number): Promise<BulkCatalog> {
  const store = await insertRegion({ code: tag, currency, locales: ['en', 'de'] });
  const [parent, a, b, collection] = ['all', 'a', 'b', 'picks'].map((name) => ({
    id: `${tag}_${name}`,
    handle: `${tag}-${name}`,
  })) as [
    { id: string; handle: string },
    { id: string; handle: string },
    { id: string; handle: string },
    { id: string; handle: string },
  ];
  const numbers = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${count})`;
  const product = `'${tag}_p' || printf('%06d', i)`;
  const statements = [
    `INSERT INTO categories (id, parent_id, handle) VALUES ('${parent.id}', NULL, '${parent.handle}'),
     ('${a.id}', '${parent.id}', '${a.handle}'), ('${b.id}', '${parent.id}', '${b.handle}')`,
    `INSERT INTO collections (id, handle) VALUES ('${collection.id}', '${collection.handle}')`,
    `INSERT INTO products (id, handle, status, created_at, updated_at) ${numbers}
     SELECT ${product}, '${tag}-' || i, 'active', 1700000000000 + i * 60000, 1700000000000 FROM n`,
    `INSERT INTO product_translations (product_id, locale, title) ${numbers}
     SELECT ${product}, 'en', '${tag} ' || printf('%07d', (i * 7919) % 1000003)
       || CASE WHEN i % ${Math.max(1, Math.floor(count / 10))} = 0 THEN ' rare${tag}' ELSE '' END
       || CASE WHEN i % 40 = 0 THEN ' sparse${tag}' ELSE '' END FROM n`,
    `INSERT INTO product_translations (product_id, locale, title) ${numbers}
     SELECT ${product}, 'de', '${tag} de ' || printf('%07d', (i * 104729) % 1000003) FROM n WHERE i % 2 = 0`,
    `INSERT INTO product_options (id, product_id, name, position) ${numbers}
     SELECT ${product} || '_o' || k, ${product}, name, k FROM n, (SELECT 0 AS k, 'Size' AS name UNION ALL SELECT 1, 'Color')`,
    `INSERT INTO variants (id, product_id, sku, title, options, position) ${numbers}
     SELECT ${product} || '_v' || s.k, ${product}, ${product} || '-' || s.size, s.size,
       json_object('Size', s.size, 'Color', CASE i % 3 WHEN 0 THEN 'Blue' WHEN 1 THEN 'Red' ELSE 'Green' END), s.k
     FROM n, (SELECT 0 AS k, 'S' AS size UNION ALL SELECT 1, 'M' UNION ALL SELECT 2, 'L') s`,
    `INSERT INTO prices (variant_id, currency_code, amount) ${numbers}
     SELECT ${product} || '_v' || k, '${currency}', 1000 + ((i * 37) % 50) * 100 + k * 200
     FROM n, (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2)`,
    `INSERT INTO product_categories (product_id, category_id) ${numbers}
     SELECT ${product}, CASE i % 2 WHEN 0 THEN '${a.id}' ELSE '${b.id}' END FROM n`,
    `INSERT INTO product_collections (product_id, collection_id) ${numbers}
     SELECT ${product}, '${collection.id}' FROM n WHERE i % 3 = 0`,
  ];
  await env.DB.batch(statements.map((s) => env.DB.prepare(s)));
  const ids = await env.DB.prepare(`SELECT id FROM products WHERE id LIKE '${tag}_p%'`).all<{ id: string }>();
  await refreshProducts(ids.results.map((r) => r.id));
  return {
    store,
    parent: parent.handle,
    category: a.handle,
    collection: collection.handle,
    common: tag,
    sparse: `sparse${tag}`,
    rare: `rare${tag}`,
  };
}

/** Rebuilds the read model of `ids` after rows written outside the API, a thousand products a batch. */
export async function refreshProducts(ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 1000) await refreshReadModel({ products: ids.slice(i, i + 1000) });
}

/**
 * Gives the products' variants `value` of a new option `name`, written as seedBulkCatalog writes options (ids
 * `<product>_o<position>`, the next position); the read model is left to refreshProducts.
 */
export function addOptionValue(productIds: string[], name: string, value: string) {
  const ids = JSON.stringify(productIds);
  return [
    env.DB.prepare(
      `INSERT INTO product_options (id, product_id, name, position)
       SELECT value || '_o' || n, value, ?, n FROM (
         SELECT j.value, (SELECT count(*) FROM product_options o WHERE o.product_id = j.value) AS n FROM json_each(?) j)`,
    ).bind(name, ids),
    env.DB.prepare(
      `UPDATE variants SET options = json_set(options, '$.' || ?, ?)
       WHERE product_id IN (SELECT value FROM json_each(?))`,
    ).bind(name, value, ids),
  ];
}

/**
 * Gives each variant of the products the value of option `name` (one they have) that `bySize` holds for the
 * variant's Size, so that the products' variants differ in it; the read model is left to refreshProducts.
 */
export function setOptionBySize(productIds: string[], name: string, bySize: Record<'S' | 'M' | 'L', string>) {
  return env.DB.prepare(
    `UPDATE variants SET options = json_set(options, '$.' || ?1, ?2 ->> (options ->> 'Size'))
     WHERE product_id IN (SELECT value FROM json_each(?3))`,
  ).bind(name, JSON.stringify(bySize), JSON.stringify(productIds));
}

/**
 * A region made by a test, `name` its code, tax 10% included in its prices, and its storefront context (read in
 * its first locale).
 */
export async function insertRegion(fields: { code: string; currency: string; locales: string[] }) {
  const region = { id: newId('reg'), ...fields };
  await env.DB.prepare(
    `INSERT INTO regions (id, code, name, currency_code, tax_rate_bps, prices_include_tax, locales)
     VALUES (?, ?, ?, ?, 1000, 1, ?)`,
  )
    .bind(region.id, region.code, region.code, region.currency, JSON.stringify(region.locales))
    .run();
  return regionStore(region);
}

/** The storefront context of a region made by a test, read in its first locale. */
function regionStore(region: {
  id: string;
  code: string;
  currency: string;
  locales: string[];
}): StoreContext {
  return {
    country: null,
    region: {
      id: region.id,
      code: region.code,
      name: region.code,
      currencyCode: region.currency,
      taxRateBps: 1000,
      pricesIncludeTax: true,
      locales: region.locales,
      countries: [],
    },
    locale: region.locales[0] as string,
    localeChain: region.locales,
    versions: new CacheVersions(new Map(), null),
  };
}
