// Seeds the demo catalog into D1: `node scripts/seed.mjs [--local|--remote] [--force]`.
// Skips a database that already has products unless --force, which first deletes the catalog (not customers,
// staff or keys). Writes plain SQL to a file and applies it with `wrangler d1 execute`.
import { newId } from '../src/lib/ids.ts';
import { buildDemoCatalog } from './lib/demo-catalog.mjs';
import { sqlText } from './lib/sql.mjs';
import { executeSql, query, target } from './lib/wrangler.mjs';

const ROWS_PER_INSERT = 50;

function inserts(table, columns, rows) {
  const statements = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const values = rows.slice(i, i + ROWS_PER_INSERT).map((row) => `(${row.map(sqlText).join(', ')})`);
    statements.push(`INSERT INTO ${table} (${columns.join(', ')}) VALUES\n${values.join(',\n')};`);
  }
  return statements;
}

const WIPE = [
  'DELETE FROM products;',
  'UPDATE categories SET parent_id = NULL;',
  'DELETE FROM categories;',
  'DELETE FROM collections;',
  'DELETE FROM regions;',
];

/** The demo catalog as INSERT statements (one string each), in foreign-key order. */
export function demoCatalogStatements(catalog = buildDemoCatalog()) {
  const regionIds = new Map(catalog.regions.map((r) => [r.code, newId('reg')]));
  const categoryIds = new Map(catalog.categories.map((c) => [c.handle, newId('cat')]));
  const collectionIds = new Map(catalog.collections.map((c) => [c.handle, newId('col')]));
  const rows = {
    regions: [],
    countries: [],
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
  ];
}

function main() {
  const where = target();
  const force = process.argv.includes('--force');
  const [{ n }] = query('SELECT COUNT(*) AS n FROM products', where);
  if (n > 0 && !force) {
    console.log(`Catalog already has ${n} products; not seeding (use --force to replace it).`);
  } else {
    const catalog = buildDemoCatalog();
    executeSql([...(force ? WIPE : []), ...demoCatalogStatements(catalog)].join('\n'), where);
    const variants = catalog.products.reduce((sum, p) => sum + p.variants.length, 0);
    console.log(
      `Seeded ${catalog.products.length} products (${variants} variants), ${catalog.categories.length} categories, ${catalog.collections.length} collections, ${catalog.regions.length} regions.`,
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
