// Seeds the demo catalog into D1: `node scripts/seed.mjs [--local|--remote] [--force] [--products N]` (200 products
// unless N is given). Skips a database that already has products unless --force, which first deletes the catalog
// (not customers, staff or keys). Writes plain SQL to a file and applies it with `wrangler d1 execute`. The
// storefront read model is filled by the same statements every catalog write runs
// (src/modules/storefront/statements.ts), rendered to SQL here.
import { SQLiteSyncDialect } from 'drizzle-orm/sqlite-core';
import { newId } from '../src/lib/ids.ts';
import { CATALOG_SCOPE, NEXT_VERSION_SQL } from '../src/lib/version-scopes.ts';
import { statementSql, storefrontStatements } from '../src/modules/storefront/statements.ts';
import { buildDemoCatalog } from './lib/demo-catalog.mjs';
import { sqlText } from './lib/sql.mjs';
import { executeSql, query, target } from './lib/wrangler.mjs';

/**
 * Bytes of one INSERT, under D1's 100 KB statement limit. Few large statements, not many small ones: applying a
 * file costs per statement, so rows per statement are what makes a 100,000-product catalog take minutes.
 */
const MAX_STATEMENT_BYTES = 90_000;

function inserts(table, columns, rows) {
  const head = `INSERT INTO ${table} (${columns.join(', ')}) VALUES\n`;
  const statements = [];
  let values = [];
  let bytes = head.length;
  for (const row of rows) {
    const value = `(${row.map(sqlText).join(', ')})`;
    if (values.length > 0 && bytes + value.length + 2 > MAX_STATEMENT_BYTES) {
      statements.push(`${head}${values.join(',\n')};`);
      values = [];
      bytes = head.length;
    }
    values.push(value);
    bytes += value.length + 2;
  }
  if (values.length > 0) statements.push(`${head}${values.join(',\n')};`);
  return statements;
}

const dialect = new SQLiteSyncDialect();

/** The read-model statements of `scope` as SQL text, with their bound values written in as literals. */
function storefrontSql(scope) {
  return storefrontStatements(scope).map((statement) => {
    const { sql, params } = dialect.sqlToQuery(statementSql(statement));
    const parts = sql.split('?');
    if (parts.length !== params.length + 1) throw new Error('a read-model statement has a literal "?"');
    return `${parts.map((part, i) => (i < params.length ? part + sqlText(params[i]) : part)).join('')};`;
  });
}

// The read model's lanes and rebuild marks first: lanes name their region, category or collection with no
// foreign key, and a region deleted with lanes left would get a deletion's mark (migration 0028) for steps with
// nothing to do. Crowded labels' marks name lanes too (the storefront-rebuild job would drop them).
const WIPE = [
  'DELETE FROM products;',
  'DELETE FROM storefront_lanes;',
  'DELETE FROM storefront_rebuilds;',
  'DELETE FROM storefront_title_crowds;',
  'UPDATE categories SET parent_id = NULL;',
  'DELETE FROM categories;',
  'DELETE FROM collections;',
  'DELETE FROM regions;',
];

/**
 * A seed replaces the catalog outside the API's writes. Like a region write (src/lib/catalog-version-bumps.ts), it
 * moves the `catalog` version, which every cached response and each isolate's region directory depend on: a
 * running Worker (`npm run dev`, or a deployed one after `--remote`) sees the new catalog within a second instead
 * of serving what it had cached for up to a day.
 */
const CATALOG_MOVED = `INSERT INTO cache_versions (scope, version) SELECT '${CATALOG_SCOPE}', ${NEXT_VERSION_SQL} WHERE true
  ON CONFLICT (scope) DO UPDATE SET version = excluded.version;`;

/** Everything a seed runs, in order: the old catalog's deletion if `force`, the demo catalog, its version. */
export function seedStatements(catalog, { force = false, readModelIndexes = [] } = {}) {
  return [...(force ? WIPE : []), ...demoCatalogStatements(catalog, readModelIndexes), CATALOG_MOVED];
}

/**
 * The storefront read model's sort indexes, as `{ name, sql }` rows of this query. A bulk load drops them and
 * creates them again afterwards: building an index from a table is several times faster than inserting millions
 * of entries into four indexes one by one (measured: 30 s instead of 118 s at 20,000 products). The product
 * index stays: the full-text statements find each product's entries by it.
 */
export const READ_MODEL_INDEXES_QUERY =
  "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'storefront_entries' AND sql IS NOT NULL AND name <> 'storefront_entries_product_idx'";

/**
 * The demo catalog as INSERT statements (one string each), in foreign-key order, then its storefront read model,
 * built from scratch by the statements the migration backfill runs. Pass the rows of READ_MODEL_INDEXES_QUERY to
 * load the read model without its secondary indexes and create them at the end: only where all the statements
 * run in one atomic batch (`wrangler d1 execute --local`), so a failure cannot leave the indexes dropped.
 */
export function demoCatalogStatements(catalog = buildDemoCatalog(), readModelIndexes = []) {
  const regionIds = new Map(catalog.regions.map((r) => [r.code, newId('reg')]));
  const categoryIds = new Map(catalog.categories.map((c) => [c.handle, newId('cat')]));
  const collectionIds = new Map(catalog.collections.map((c) => [c.handle, newId('col')]));
  const rows = {
    regions: [],
    countries: [],
    shippingOptions: [],
    categories: [],
    categoryNames: [],
    collections: [],
    collectionTitles: [],
    products: [],
    translations: [],
    options: [],
    variants: [],
    prices: [],
    productCategories: [],
    productCollections: [],
    images: [],
  };
  for (const r of catalog.regions) {
    const id = regionIds.get(r.code);
    rows.regions.push([id, r.code, r.name, r.currency, r.taxRateBps, r.inclusive, JSON.stringify(r.locales)]);
    for (const country of r.countries) rows.countries.push([country, id]);
    const { name, amount, freeOver } = r.shipping;
    rows.shippingOptions.push([newId('ship'), id, name, 'flat', amount, freeOver]);
  }
  for (const c of catalog.categories) {
    const id = categoryIds.get(c.handle);
    rows.categories.push([id, c.parent ? categoryIds.get(c.parent) : null, c.handle, c.position]);
    for (const [locale, name] of Object.entries(c.names)) rows.categoryNames.push([id, locale, name, '']);
  }
  for (const c of catalog.collections) {
    const id = collectionIds.get(c.handle);
    rows.collections.push([id, c.handle]);
    for (const [locale, title] of Object.entries(c.titles))
      rows.collectionTitles.push([id, locale, title, '']);
  }
  for (const p of catalog.products) {
    const id = newId('prod', p.createdAt);
    rows.products.push([id, p.handle, p.status, p.createdAt, p.createdAt]);
    for (const [locale, t] of Object.entries(p.translations))
      rows.translations.push([id, locale, t.title, t.description]);
    p.options.forEach((name, position) => {
      rows.options.push([newId('opt'), id, name, position]);
    });
    p.variants.forEach((v, position) => {
      const variantId = newId('var', p.createdAt);
      rows.variants.push([
        variantId,
        id,
        v.sku,
        v.title,
        JSON.stringify(v.options),
        v.weightGrams,
        v.barcode,
        position,
        p.createdAt,
        p.createdAt,
      ]);
      for (const [currency, amount] of Object.entries(v.prices))
        rows.prices.push([variantId, currency, amount]);
    });
    rows.productCategories.push([id, categoryIds.get(p.category)]);
    for (const handle of p.collections) rows.productCollections.push([id, collectionIds.get(handle)]);
    p.images.forEach((img, position) => {
      rows.images.push([newId('img'), id, img.url, JSON.stringify(img.alt), position]);
    });
  }
  return [
    ...inserts(
      'regions',
      ['id', 'code', 'name', 'currency_code', 'tax_rate_bps', 'prices_include_tax', 'locales'],
      rows.regions,
    ),
    ...inserts('region_countries', ['country_code', 'region_id'], rows.countries),
    ...inserts(
      'shipping_options',
      ['id', 'region_id', 'name', 'price_type', 'amount', 'free_over'],
      rows.shippingOptions,
    ),
    ...inserts('categories', ['id', 'parent_id', 'handle', 'position'], rows.categories),
    ...inserts('category_translations', ['category_id', 'locale', 'name', 'description'], rows.categoryNames),
    ...inserts('collections', ['id', 'handle'], rows.collections),
    ...inserts(
      'collection_translations',
      ['collection_id', 'locale', 'title', 'description'],
      rows.collectionTitles,
    ),
    ...inserts('products', ['id', 'handle', 'status', 'created_at', 'updated_at'], rows.products),
    ...inserts('product_translations', ['product_id', 'locale', 'title', 'description'], rows.translations),
    ...inserts('product_options', ['id', 'product_id', 'name', 'position'], rows.options),
    ...inserts(
      'variants',
      [
        'id',
        'product_id',
        'sku',
        'title',
        'options',
        'weight_grams',
        'barcode',
        'position',
        'created_at',
        'updated_at',
      ],
      rows.variants,
    ),
    ...inserts('prices', ['variant_id', 'currency_code', 'amount'], rows.prices),
    ...inserts('product_categories', ['product_id', 'category_id'], rows.productCategories),
    ...inserts('product_collections', ['product_id', 'collection_id'], rows.productCollections),
    ...inserts('product_images', ['id', 'product_id', 'url', 'alt', 'position'], rows.images),
    ...readModelIndexes.map(({ name }) => `DROP INDEX ${name};`),
    ...storefrontSql({ everything: true }),
    ...readModelIndexes.map(({ sql }) => `${sql};`),
  ];
}

/** `--products N`: how many demo products to generate. */
function productCount(argv = process.argv) {
  const at = argv.indexOf('--products');
  if (at < 0) return undefined;
  const count = Number(argv[at + 1]);
  if (!Number.isSafeInteger(count) || count < 1) throw new Error('--products takes a positive whole number');
  return count;
}

function main() {
  const where = target();
  const force = process.argv.includes('--force');
  const count = productCount();
  const [{ n }] = query('SELECT COUNT(*) AS n FROM products', where);
  if (n > 0 && !force) {
    console.log(`Catalog already has ${n} products; not seeding (use --force to replace it).`);
  } else {
    const started = Date.now();
    const catalog = buildDemoCatalog(count);
    // Locally the whole file is one atomic batch; a remote import gives no such promise, so it keeps the indexes.
    const indexes = where === '--local' ? query(READ_MODEL_INDEXES_QUERY, where) : [];
    executeSql(seedStatements(catalog, { force, readModelIndexes: indexes }).join('\n'), where);
    const variants = catalog.products.reduce((sum, p) => sum + p.variants.length, 0);
    console.log(
      `Seeded ${catalog.products.length} products (${variants} variants), ${catalog.categories.length} categories, ${catalog.collections.length} collections, ${catalog.regions.length} regions in ${Math.round((Date.now() - started) / 1000)} s.`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main();
  } catch (error) {
    console.error(`Seeding failed: ${error.message}`);
    process.exit(1);
  }
}
