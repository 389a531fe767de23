/**
 * The storefront read model follows every catalog write through the admin API: after each kind of write, after
 * refused writes and after concurrent writes it equals what the catalog tables say (computed independently,
 * test/helpers/storefront.ts). The migration's backfill builds the same model for a catalog that existed
 * before it.
 */
import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import readme from '../../README.md?raw';
import { buildDemoCatalog } from '../../scripts/lib/demo-catalog.mjs';
import { seedStatements } from '../../scripts/seed.mjs';
import { SEARCH_ORDERS } from '../../src/db/fts';
import { systemCaller } from '../../src/lib/caller';
import { updateRegion } from '../../src/modules/regions/admin-service';
import { continueStorefrontRebuilds } from '../../src/modules/storefront/rebuild';
import {
  type AdminProductBody,
  admin,
  createCategory,
  createCollection,
  createRegion,
  expectRejected,
  productInput,
  rows,
} from '../helpers/admin-fixtures';
import { refreshReadModel } from '../helpers/catalog-fixtures';
import {
  actualEntries,
  actualOrderedSearchRows,
  actualSearchRows,
  actualTitleRows,
  expectedEntries,
  expectStorefrontMatchesCatalog,
  steppedEnv,
  untilDone,
} from '../helpers/storefront';
import { unique } from '../helpers/unique';

async function ok(request: Promise<Response>, status = 200): Promise<Response> {
  const res = await request;
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${await res.text()}`);
  return res;
}

async function createdProduct(overrides: Record<string, unknown>): Promise<AdminProductBody> {
  return (await (
    await ok(admin('POST', '/products', productInput(overrides)), 201)
  ).json()) as AdminProductBody;
}

const variant = (size: string, prices: Record<string, number>) => ({
  sku: unique(`SKU-${size}`),
  title: size,
  options: { Size: size },
  prices: Object.entries(prices).map(([currency, amount]) => ({ currency, amount })),
});

let euRegion: string;
let root: string;
let child: string;
let leaf: string;
let collection: string;

beforeAll(async () => {
  euRegion = (await createRegion({ currency: 'EUR', locales: ['de', 'en', 'fr'] })).id;
  await createRegion({ currency: 'USD', locales: ['en'] });
  root = (await createCategory({ translations: { en: { name: 'Root' } } })).id;
  child = (await createCategory({ parent_id: root, translations: { en: { name: 'Child' } } })).id;
  leaf = (await createCategory({ parent_id: child, translations: { en: { name: 'Leaf' } } })).id;
  collection = (await createCollection()).id;
});

describe('the storefront read model after each kind of catalog write', () => {
  let product: AdminProductBody;

  it('product create: an entry per region locale and list, ancestors included', async () => {
    product = await createdProduct({
      status: 'active',
      translations: { en: { title: 'Linen shirt' }, de: { title: 'Leinenhemd', seo_title: 'Hemd' } },
      options: [{ name: 'Size' }],
      variants: [variant('S', { EUR: 4990, USD: 4500 }), variant('M', { EUR: 5990 })],
      category_ids: [leaf],
      collection_ids: [collection],
      images: [{ url: 'https://img.example/a.jpg', alt: { en: 'A shirt' } }],
    });
    await expectStorefrontMatchesCatalog();
    const lists = (await actualEntries()).filter(
      (e) => e.product_id === product.id && e.region_id === euRegion,
    );
    expect(new Set(lists.map((e) => e.list_id))).toStrictEqual(new Set(['', root, child, leaf, collection]));
    expect(new Set(lists.map((e) => e.title))).toStrictEqual(new Set(['Leinenhemd', 'Linen shirt']));
  });

  it('a draft product has no entries and no document', async () => {
    const draft = await createdProduct({ variants: [variant('S', { EUR: 100 })] });
    await expectStorefrontMatchesCatalog();
    expect(await rows('SELECT * FROM storefront_entries WHERE product_id = ?', draft.id)).toStrictEqual([]);
    expect(await rows('SELECT * FROM storefront_documents WHERE product_id = ?', draft.id)).toStrictEqual([]);
  });

  it('product update: translations, handle, links, images and status', async () => {
    await ok(
      admin('PATCH', `/products/${product.id}`, {
        handle: unique('renamed'),
        translations: { de: null, fr: { title: 'Chemise en lin' } },
        category_ids: [child],
        collection_ids: [],
        images: [],
      }),
    );
    await expectStorefrontMatchesCatalog();
    await ok(admin('POST', `/products/${product.id}/archive`));
    await expectStorefrontMatchesCatalog();
    expect(await rows('SELECT * FROM storefront_entries WHERE product_id = ?', product.id)).toStrictEqual([]);
    await ok(admin('PATCH', `/products/${product.id}`, { status: 'active', category_ids: [leaf] }));
    await expectStorefrontMatchesCatalog();
  });

  it('variant create, update, price replacement and delete', async () => {
    const res = await ok(admin('POST', `/products/${product.id}/variants`, variant('L', { EUR: 100 })), 201);
    const added = (await res.json()) as { id: string };
    await expectStorefrontMatchesCatalog();
    await ok(admin('PATCH', `/variants/${added.id}`, { options: { Size: 'XL' }, sku: unique('XL') }));
    await expectStorefrontMatchesCatalog();
    await ok(admin('PUT', `/variants/${added.id}/prices`, { prices: [{ currency: 'USD', amount: 99 }] }));
    await expectStorefrontMatchesCatalog();
    await ok(admin('DELETE', `/variants/${added.id}`), 204);
    await expectStorefrontMatchesCatalog();
  });

  it('the last priced variant leaving a currency takes the product out of that region', async () => {
    const only = await createdProduct({ status: 'active', variants: [variant('S', { USD: 700 })] });
    await expectStorefrontMatchesCatalog();
    expect((await rows('SELECT * FROM storefront_entries WHERE product_id = ?', only.id)).length).toBe(1);
    await ok(admin('DELETE', `/variants/${only.variants[0]?.id}`), 204);
    await expectStorefrontMatchesCatalog();
    expect(await rows('SELECT * FROM storefront_entries WHERE product_id = ?', only.id)).toStrictEqual([]);
  });

  it('category move and rename, and deleting a leaf category', async () => {
    const other = (await createCategory()).id;
    await ok(admin('PATCH', `/categories/${child}`, { parent_id: other }));
    await expectStorefrontMatchesCatalog();
    await ok(admin('PATCH', `/categories/${child}`, { parent_id: null, handle: unique('moved') }));
    await expectStorefrontMatchesCatalog();
    await ok(
      admin('PATCH', `/categories/${child}`, { parent_id: root, translations: { de: { name: 'Kind' } } }),
    );
    await expectStorefrontMatchesCatalog();
    await ok(admin('DELETE', `/categories/${leaf}`), 204);
    await expectStorefrontMatchesCatalog();
    expect(await rows('SELECT * FROM storefront_lanes WHERE category_id = ?', leaf)).toStrictEqual([]);
  });

  it('collection create, membership, names and handle, delete', async () => {
    const second = await createCollection({ product_ids: [product.id] });
    await expectStorefrontMatchesCatalog();
    await ok(admin('PATCH', `/collections/${collection}`, { product_ids: [product.id] }));
    await expectStorefrontMatchesCatalog();
    // Names and handle only: the documents name the collection, nothing else of the model does.
    await ok(
      admin('PATCH', `/collections/${collection}`, {
        handle: unique('renamed'),
        translations: { en: { title: 'Renamed' } },
      }),
    );
    await expectStorefrontMatchesCatalog();
    await ok(
      admin('PATCH', `/collections/${second.id}`, { product_ids: [], translations: { de: { title: 'Z' } } }),
    );
    await expectStorefrontMatchesCatalog();
    await ok(admin('DELETE', `/collections/${collection}`), 204);
    await expectStorefrontMatchesCatalog();
    expect(await rows('SELECT * FROM storefront_lanes WHERE collection_id = ?', collection)).toStrictEqual(
      [],
    );
  });

  it('region create, currency and locale changes, other fields, delete', async () => {
    const region = await createRegion({ currency: 'GBP', locales: ['en'] });
    await ok(
      admin('PUT', `/variants/${product.variants[0]?.id}/prices`, {
        prices: [
          { currency: 'EUR', amount: 4990 },
          { currency: 'GBP', amount: 3990 },
        ],
      }),
    );
    await expectStorefrontMatchesCatalog();
    await ok(admin('PATCH', `/regions/${region.id}`, { currency: 'EUR' }));
    await expectStorefrontMatchesCatalog();
    await ok(admin('PATCH', `/regions/${region.id}`, { locales: ['fr', 'en'] }));
    await expectStorefrontMatchesCatalog();
    await ok(admin('PATCH', `/regions/${region.id}`, { name: 'Renamed', tax_rate_bps: 500 }));
    await expectStorefrontMatchesCatalog();
    await ok(admin('DELETE', `/regions/${region.id}`), 204);
    await expectStorefrontMatchesCatalog();
    expect(await rows('SELECT * FROM storefront_lanes WHERE region_id = ?', region.id)).toStrictEqual([]);
  });

  it('a scope that names a product twice rebuilds it once', async () => {
    // Every API write names a product once; the duplicate failed the documents' primary key, and the write with it.
    await refreshReadModel({ products: [product.id, product.id] });
    await expectStorefrontMatchesCatalog();
  });

  it('product delete', async () => {
    await ok(admin('DELETE', `/products/${product.id}`), 204);
    await expectStorefrontMatchesCatalog();
    expect(await rows('SELECT * FROM storefront_entries WHERE product_id = ?', product.id)).toStrictEqual([]);
  });
});

describe('refused catalog writes leave the read model as it was', () => {
  let existing: AdminProductBody;
  beforeAll(async () => {
    existing = await createdProduct({ status: 'active', variants: [variant('S', { EUR: 500 })] });
  });

  it('a product whose handle is taken', async () => {
    await expectRejected(
      () => admin('POST', '/products', productInput({ handle: existing.handle, status: 'active' })),
      409,
      'handle_taken',
      [{ pointer: '/body/handle', message: 'Choose another handle' }],
    );
  });

  it('prices in a currency no region sells', async () => {
    await expectRejected(
      () =>
        admin('PUT', `/variants/${existing.variants[0]?.id}/prices`, {
          prices: [{ currency: 'CHF', amount: 1 }],
        }),
      422,
      'currency_not_sold',
      [{ pointer: '/body/prices/0/currency', message: 'No region sells in CHF' }],
    );
  });

  it('deleting a category that still has children', async () => {
    const parent = (await createCategory()).id;
    await createCategory({ parent_id: parent });
    await expectRejected(() => admin('DELETE', `/categories/${parent}`), 409, 'category_has_children');
  });
});

describe('concurrent catalog writes', () => {
  it('leave the read model equal to the catalog, whatever order D1 ran them in', async () => {
    const parent = (await createCategory()).id;
    const sub = (await createCategory({ parent_id: parent })).id;
    const shared = await createCollection();
    const made = await Promise.all(
      [1, 2, 3].map((n) =>
        createdProduct({
          status: 'active',
          variants: [variant('S', { EUR: 1000 * n, USD: 900 * n }), variant('M', { EUR: 1100 * n })],
          category_ids: [sub],
        }),
      ),
    );
    const [a, b, c] = made as [AdminProductBody, AdminProductBody, AdminProductBody];
    const responses = await Promise.all([
      admin('PUT', `/variants/${a.variants[0]?.id}/prices`, { prices: [{ currency: 'EUR', amount: 1 }] }),
      admin('PUT', `/variants/${a.variants[1]?.id}/prices`, { prices: [{ currency: 'USD', amount: 2 }] }),
      admin('PATCH', `/products/${a.id}`, { translations: { de: { title: 'Neu' } }, category_ids: [parent] }),
      admin('PATCH', `/categories/${sub}`, { parent_id: null }),
      admin('PATCH', `/collections/${shared.id}`, { product_ids: [a.id, b.id] }),
      admin('PATCH', `/collections/${shared.id}`, { product_ids: [c.id] }),
      admin('POST', `/products/${b.id}/archive`),
      admin('DELETE', `/variants/${c.variants[0]?.id}`),
      admin('PATCH', `/products/${c.id}`, { category_ids: [sub, parent] }),
      admin('PATCH', `/regions/${euRegion}`, { locales: ['en', 'de'] }),
    ]);
    expect(responses.map((r) => r.status)).toStrictEqual([200, 200, 200, 200, 200, 200, 200, 204, 200, 200]);
    await expectStorefrontMatchesCatalog();
  });
});

/**
 * Migration 0027, the backfill of 0026's title labels and title-ordered copy. A migration after another's backfill
 * runs it, as a database migrated from before both would.
 */
function titleBackfill(): D1PreparedStatement[] {
  const migration = env.TEST_MIGRATIONS.find((m) => m.name.endsWith('_title_labels.sql'));
  expect(migration?.queries).toHaveLength(4);
  return (migration?.queries ?? []).map((query) => env.DB.prepare(query));
}

/**
 * Every full-text row without the words `isWord` picks, and the contentless copies `copies` emptied: the index as
 * the migrations before those words left it.
 */
async function withoutWords(isWord: (word: string) => boolean, copies: string[]): Promise<void> {
  const written = (await rows('SELECT rowid, lists FROM storefront_search')) as {
    rowid: number;
    lists: string;
  }[];
  await env.DB.batch([
    ...written.map((row) =>
      env.DB.prepare('UPDATE storefront_search SET lists = ? WHERE rowid = ?').bind(
        row.lists
          .split(' ')
          .filter((word) => !isWord(word))
          .join(' '),
        row.rowid,
      ),
    ),
    ...copies.map((table) => env.DB.prepare(`INSERT INTO ${table} (${table}) VALUES ('delete-all')`)),
  ]);
}

describe('the migration backfill', () => {
  it('builds the same read model from the catalog tables alone', async () => {
    const expected = await expectedEntries();
    await env.DB.batch([
      env.DB.prepare('DELETE FROM storefront_documents'),
      env.DB.prepare('DELETE FROM storefront_lanes'),
    ]);
    expect(await actualEntries()).toStrictEqual([]);
    const backfill = env.TEST_MIGRATIONS.find((m) => m.name.endsWith('_storefront_custom.sql'));
    expect(backfill).toBeDefined();
    await env.DB.batch((backfill?.queries ?? []).map((query) => env.DB.prepare(query)));
    expect(await actualEntries()).toStrictEqual(expected);
    await env.DB.batch(titleBackfill());
    await expectStorefrontMatchesCatalog();
  });

  it('gives every pair sold its keys and a row in each ordered copy of the full-text index', async () => {
    const ordered = () => Promise.all(SEARCH_ORDERS.map(actualOrderedSearchRows));
    const expected = await ordered();
    expect(expected.map((rows) => rows.length > 0)).toStrictEqual([true, true]);
    await env.DB.batch([
      env.DB.prepare('DELETE FROM storefront_search_prices'),
      env.DB.prepare('DELETE FROM storefront_search_dates'),
      env.DB.prepare('UPDATE storefront_search_rows SET price_key = NULL, date_key = NULL'),
    ]);
    expect(await ordered()).toStrictEqual([[], []]);
    const migrations = env.TEST_MIGRATIONS.filter((m) => /_search_by_(price|date)\.sql$/.test(m.name));
    const backfill = migrations
      .flatMap((m) => m.queries)
      .filter((query) =>
        /^(UPDATE `storefront_search_rows`|INSERT INTO `storefront_search_(prices|dates)`)/m.test(query),
      );
    expect(backfill).toHaveLength(4);
    await env.DB.batch(backfill.map((query) => env.DB.prepare(query)));
    expect(await ordered()).toStrictEqual(expected);
    await expectStorefrontMatchesCatalog();
  });

  it('gives every full-text row, and its ordered copies, the words of its option values, once however often it runs', async () => {
    const searchRows = () =>
      Promise.all([actualSearchRows(), ...SEARCH_ORDERS.map((order) => actualOrderedSearchRows(order))]);
    const expected = await searchRows();
    // An option value's word is `o` and upper-case hex (src/db/fts.ts); no id in `lists` looks like one.
    const isOptionWord = (word: string) => /^o[0-9A-F]+$/.test(word);
    expect(expected[0].some((row) => row.lists.split(' ').some(isOptionWord))).toBe(true);
    // The rows as the migrations before 0025 left them: no option words, in the index or its copies.
    await withoutWords(
      isOptionWord,
      SEARCH_ORDERS.map(({ table }) => table),
    );
    expect(await searchRows()).not.toStrictEqual(expected);
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.endsWith('_option_words.sql'));
    expect(migration?.queries).toHaveLength(5);
    await env.DB.batch((migration?.queries ?? []).map((query) => env.DB.prepare(query)));
    expect(await searchRows()).toStrictEqual(expected);
    // Run again (after a deploy, README "Deploy"), it changes nothing.
    await env.DB.batch((migration?.queries ?? []).map((query) => env.DB.prepare(query)));
    expect(await searchRows()).toStrictEqual(expected);
    await env.DB.batch(titleBackfill());
    await expectStorefrontMatchesCatalog();
  });

  it('gives every full-text row, and its ordered and title copies, the words of its prices, once however often it runs', async () => {
    const searchRows = () =>
      Promise.all([
        actualSearchRows(),
        ...SEARCH_ORDERS.map((order) => actualOrderedSearchRows(order)),
        actualTitleRows(),
      ]);
    const expected = await searchRows();
    // A price word is `ph` or `pl`, then `m` and a digit count or a level, `x` and hex (src/db/price-words.ts).
    const isPriceWord = (word: string) => /^p[hl](m\d+|\d+x[0-9a-f]+)$/.test(word);
    expect(expected[0].length).toBeGreaterThan(0);
    expect(expected[0].every((row) => row.lists.split(' ').some(isPriceWord))).toBe(true);
    // The rows as the migrations before 0031 left them: no price words, in the index or its copies.
    await withoutWords(isPriceWord, [...SEARCH_ORDERS.map(({ table }) => table), 'storefront_search_titles']);
    expect(await searchRows()).not.toStrictEqual(expected);
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.endsWith('_price_words.sql'));
    expect(migration?.queries).toHaveLength(7);
    await env.DB.batch((migration?.queries ?? []).map((query) => env.DB.prepare(query)));
    expect(await searchRows()).toStrictEqual(expected);
    // Run again (after a deploy, README "Deploy"), it changes nothing; nor does the option words' file before it.
    const optionWords = env.TEST_MIGRATIONS.find((m) => m.name.endsWith('_option_words.sql'));
    for (const run of [migration, optionWords, migration]) {
      await env.DB.batch((run?.queries ?? []).map((query) => env.DB.prepare(query)));
    }
    expect(await searchRows()).toStrictEqual(expected);
    await expectStorefrontMatchesCatalog();
  });

  it('gives every whole-catalog entry the title label the statements give it from scratch, and its row in the title-ordered copy, however often it runs', async () => {
    const labels = () =>
      rows(`SELECT l.region_id, l.locale, e.product_id, e.title_label, e.title_row >> 31 AS row_label,
          e.title_row & 2147483647 AS place
        FROM storefront_entries e JOIN storefront_lanes l ON l.lane = e.lane WHERE l.list_id = '' ORDER BY 1, 2, 3`);
    const titleRows = await actualTitleRows();
    expect(titleRows.length).toBeGreaterThan(0);
    // Rows as an older Worker wrote them: without labels or title rows.
    await env.DB.batch([
      env.DB.prepare('UPDATE storefront_entries SET title_label = NULL, title_row = NULL'),
      env.DB.prepare("INSERT INTO storefront_search_titles (storefront_search_titles) VALUES ('delete-all')"),
    ]);
    expect(await actualTitleRows()).toStrictEqual([]);
    await env.DB.batch(titleBackfill());
    expect(await actualTitleRows()).toStrictEqual(titleRows);
    await expectStorefrontMatchesCatalog();
    const backfilled = await labels();
    await env.DB.batch(titleBackfill());
    expect(await labels()).toStrictEqual(backfilled);
    expect(await actualTitleRows()).toStrictEqual(titleRows);
    // The statements from scratch spread each lane's labels the same way.
    await refreshReadModel({ everything: true });
    expect(await labels()).toStrictEqual(backfilled);
    await expectStorefrontMatchesCatalog();
  });
});

describe('migration 0028', () => {
  const caller = systemCaller('test', 'migration-0028-test');
  const foreignKeys = () =>
    rows(`SELECT m.name AS child, f."table" AS parent, f.on_delete FROM sqlite_master m, pragma_foreign_key_list(m.name) f
      WHERE m.name IN ('storefront_lanes', 'storefront_entries', 'storefront_search_rows', 'storefront_rebuilds')
      ORDER BY 1, 2`);
  const triggers = () =>
    rows(
      `SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'
        AND (tbl_name LIKE 'storefront_%' OR tbl_name IN ('regions', 'categories', 'collections')) ORDER BY 1`,
    );
  const tables = () =>
    Promise.all([
      rows('SELECT * FROM storefront_lanes ORDER BY lane'),
      rows('SELECT * FROM storefront_entries ORDER BY lane, product_id'),
      rows('SELECT * FROM storefront_search_rows ORDER BY row'),
      rows('SELECT * FROM storefront_rebuilds ORDER BY target'),
      actualSearchRows(),
      ...SEARCH_ORDERS.map((order) => actualOrderedSearchRows(order)),
      actualTitleRows(),
    ]);

  it('rebuilds the lanes, entries, pairs and marks with every row, full-text row and trigger, and no foreign key to their owners', async () => {
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.endsWith('_region_delete_in_steps.sql'));
    const listed = (await createCollection()).id;
    const parent = (await createCategory({ translations: { en: { name: 'Parent' } } })).id;
    const sub = (await createCategory({ parent_id: parent, translations: { en: { name: 'Sub' } } })).id;
    for (const category of [parent, sub]) {
      await createdProduct({ status: 'active', category_ids: [category], collection_ids: [listed] });
    }
    // A rebuild of a region under way, one product per step: its mark keeps its place.
    await updateRegion(steppedEnv(1), caller, euRegion, { locales: ['de', 'en', 'fr'] }, ['locales']);
    const before = await tables();
    expect(before.map((table) => table.length > 0)).toStrictEqual(Array(8).fill(true));

    // Run again on the tables it made (the test database has them), as it ran on those before it.
    await env.DB.batch((migration?.queries ?? []).map((query) => env.DB.prepare(query)));

    expect(await tables()).toStrictEqual(before);
    expect(await foreignKeys()).toStrictEqual([
      { child: 'storefront_entries', parent: 'products', on_delete: 'CASCADE' },
      { child: 'storefront_entries', parent: 'storefront_lanes', on_delete: 'CASCADE' },
      { child: 'storefront_rebuilds', parent: 'categories', on_delete: 'CASCADE' },
      { child: 'storefront_rebuilds', parent: 'collections', on_delete: 'CASCADE' },
      { child: 'storefront_rebuilds', parent: 'regions', on_delete: 'CASCADE' },
      { child: 'storefront_search_rows', parent: 'products', on_delete: 'CASCADE' },
    ]);
    expect(await triggers()).toStrictEqual([
      { name: 'categories_storefront_ad', tbl_name: 'categories' },
      { name: 'collections_storefront_ad', tbl_name: 'collections' },
      { name: 'regions_storefront_ad', tbl_name: 'regions' },
      { name: 'storefront_entries_title_ad', tbl_name: 'storefront_entries' },
      { name: 'storefront_search_rows_ad', tbl_name: 'storefront_search_rows' },
    ]);
    // The triggers and cascades act on the new tables: a product's and a collection's rows go with them.
    await continueStorefrontRebuilds(env, caller, untilDone());
    const gone = await createdProduct({ status: 'active', collection_ids: [listed] });
    await expectStorefrontMatchesCatalog();
    await ok(admin('DELETE', `/products/${gone.id}`), 204);
    await expectStorefrontMatchesCatalog();
    await ok(admin('DELETE', `/collections/${listed}`), 204);
    await expectStorefrontMatchesCatalog();
  });

  it('keeps every row, full-text row and mark of a database as 0027 left it, and its triggers then act', async () => {
    const db = env.MIGRATION_DB;
    const upTo0027 = env.TEST_MIGRATIONS.filter((m) => m.name < '0028');
    const [migration] = env.TEST_MIGRATIONS.filter((m) => m.name.startsWith('0028_'));
    await applyD1Migrations(db, upTo0027);
    await db.batch(seedStatements(buildDemoCatalog(12)).map((statement) => db.prepare(statement)));
    // A region's rebuild and a deleted category's, under way.
    await db.batch([
      db.prepare(`INSERT INTO storefront_rebuilds (target, region_id, after_product, requested_at)
        SELECT id, id, '', 1 FROM regions WHERE code = 'eu'`),
      db.prepare(`INSERT INTO storefront_rebuilds (target, deleted_list, after_product, requested_at)
        VALUES ('cat_gone', 'category', '', 2)`),
    ]);
    const all = async (query: string) => (await db.prepare(query).all()).results;
    const snapshot = () =>
      Promise.all([
        all(
          'SELECT lane, region_id, locale, category_id, collection_id, list_id FROM storefront_lanes ORDER BY lane',
        ),
        all(`SELECT lane, product_id, created_at, min_price, max_price, title, title_label, title_row, spread_level
          FROM storefront_entries ORDER BY lane, product_id`),
        all('SELECT * FROM storefront_search_rows ORDER BY row'),
        all('SELECT * FROM storefront_rebuilds ORDER BY target'),
        all('SELECT rowid, * FROM storefront_search ORDER BY rowid'),
        ...['prices', 'dates', 'titles'].map((copy) =>
          all(`SELECT rowid FROM storefront_search_${copy} ORDER BY rowid`),
        ),
      ]);
    const before = await snapshot();
    expect(before.map((rows) => rows.length > 0)).toStrictEqual(Array(8).fill(true));

    await db.batch((migration?.queries ?? []).map((query) => db.prepare(query)));

    expect(await snapshot()).toStrictEqual(before);
    const foreignKeysTo = await all(`SELECT m.name AS child, f."table" AS parent FROM sqlite_master m,
      pragma_foreign_key_list(m.name) f WHERE f."table" IN ('regions', 'categories', 'collections')
        AND m.name LIKE 'storefront_%' ORDER BY 1, 2`);
    expect(foreignKeysTo).toStrictEqual([
      { child: 'storefront_rebuilds', parent: 'categories' },
      { child: 'storefront_rebuilds', parent: 'collections' },
      { child: 'storefront_rebuilds', parent: 'regions' },
    ]);
    // The entries' and pairs' triggers delete a product's full-text rows with it (by cascade from the product).
    const product =
      (await db.prepare('SELECT id FROM products ORDER BY id LIMIT 1').first<string>('id')) ?? '';
    const rowsOf = (query: string) => db.prepare(query).bind(product).all();
    const titleRows = (
      await rowsOf('SELECT title_row FROM storefront_entries WHERE product_id = ? AND title_row IS NOT NULL')
    ).results;
    const pairs = (await rowsOf('SELECT row FROM storefront_search_rows WHERE product_id = ?')).results;
    expect([titleRows.length > 0, pairs.length > 0]).toStrictEqual([true, true]);
    await db.prepare('DELETE FROM products WHERE id = ?').bind(product).run();
    const left = async (table: string, rowids: unknown[]) =>
      (await all(`SELECT rowid FROM ${table} WHERE rowid IN (${rowids.join(', ')})`)).length;
    expect(
      await left(
        'storefront_search_titles',
        titleRows.map((r) => r.title_row),
      ),
    ).toBe(0);
    expect(
      await left(
        'storefront_search',
        pairs.map((r) => r.row),
      ),
    ).toBe(0);
    // A region deleted by SQL keeps its lanes and gets its deletion's mark, in place of its rebuild's.
    await db.prepare("DELETE FROM regions WHERE code = 'eu'").run();
    expect(
      await all(`SELECT deleted_list, region_id, after_product FROM storefront_rebuilds
      WHERE target NOT IN (SELECT id FROM regions) AND target <> 'cat_gone'`),
    ).toStrictEqual([{ deleted_list: 'region', region_id: null, after_product: '' }]);
    // A leaf category and a collection deleted by SQL take their lanes with them, as their cascade did.
    const lanesOf = async (list: unknown) =>
      (await db.prepare('SELECT lane FROM storefront_lanes WHERE list_id = ?').bind(list).all()).results
        .length;
    const [leaf, collection, kept] = [
      await db
        .prepare(`SELECT id FROM categories WHERE id NOT IN (SELECT parent_id FROM categories WHERE parent_id IS NOT NULL)
          AND id IN (SELECT category_id FROM storefront_lanes) ORDER BY id LIMIT 1`)
        .first<string>('id'),
      ...(
        await all(
          'SELECT id FROM collections WHERE id IN (SELECT collection_id FROM storefront_lanes) ORDER BY id LIMIT 2',
        )
      ).map((c) => c.id),
    ];
    expect([await lanesOf(leaf), await lanesOf(collection), await lanesOf(kept)].every((n) => n > 0)).toBe(
      true,
    );
    await db.prepare('DELETE FROM categories WHERE id = ?').bind(leaf).run();
    expect(await lanesOf(leaf)).toBe(0);
    // README's cleanup after deploying 0028: a list the previous Worker deleted in steps (a mark at its delete,
    // gone once its steps were done) keeps its lanes until it runs; one whose steps are under way keeps them.
    for (const id of [collection, kept]) {
      await db.batch([
        db
          .prepare(`INSERT INTO storefront_rebuilds (target, deleted_list, after_product, requested_at)
          VALUES (?, 'collection', '', 3)`)
          .bind(id),
        db.prepare('DELETE FROM collections WHERE id = ?').bind(id),
      ]);
    }
    await db.prepare('DELETE FROM storefront_rebuilds WHERE target = ?').bind(collection).run();
    expect([(await lanesOf(collection)) > 0, (await lanesOf(kept)) > 0]).toStrictEqual([true, true]);
    const cleanup = /--command "(DELETE FROM storefront_lanes WHERE [^"]+)"/.exec(readme)?.[1] ?? '';
    await db.prepare(cleanup).run();
    expect([await lanesOf(collection), (await lanesOf(kept)) > 0]).toStrictEqual([0, true]);
    expect(
      await all(
        'SELECT e.lane FROM storefront_entries e LEFT JOIN storefront_lanes l ON l.lane = e.lane WHERE l.lane IS NULL',
      ),
    ).toStrictEqual([]);
  });
});
