/**
 * The storefront read model checked against the catalog tables: what it holds, and what it should hold computed
 * independently (a differently written SQL query for entries, plain row reads assembled in TypeScript for
 * documents), so a mistake in the maintained SQL cannot hide behind the same mistake in the check.
 */
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import { LOCALE_BITS, PAIR_BITS, SEARCH_ORDERS, type SearchOrder } from '../../src/db/fts';
import type { Database } from '../../src/lib/db';
import { rebuildStep } from '../../src/modules/storefront/rebuild';
import type { StorefrontDocument } from '../../src/modules/storefront/statements';

async function all<T>(query: string, ...params: unknown[]): Promise<T[]> {
  return (
    await env.DB.prepare(query)
      .bind(...params)
      .all<T>()
  ).results;
}

type EntryRow = {
  region_id: string;
  locale: string;
  list_id: string;
  product_id: string;
  created_at: number;
  min_price: number;
  max_price: number;
  title: string;
};

/** Every entry with its lane spelled out. */
export function actualEntries(): Promise<EntryRow[]> {
  return all(`SELECT l.region_id, l.locale, l.list_id, e.product_id, e.created_at, e.min_price, e.max_price, e.title
    FROM storefront_entries e JOIN storefront_lanes l ON l.lane = e.lane ORDER BY 1, 2, 3, 4`);
}

/**
 * What the entries should be: one per (region, offered locale, list) for each active product with a variant
 * priced in the region currency and a translation; lists are the whole catalog, every category the product is
 * in or below, and its collections; the title is the first along the locale chain (the lane's locale, then the
 * region's others in order, then any by locale).
 */
export function expectedEntries(): Promise<EntryRow[]> {
  return all(`WITH RECURSIVE
    ancestry(product_id, category_id) AS (
      SELECT product_id, category_id FROM product_categories
      UNION
      SELECT a.product_id, c.parent_id FROM ancestry a JOIN categories c ON c.id = a.category_id
      WHERE c.parent_id IS NOT NULL
    ),
    memberships(product_id, list_id) AS (
      SELECT id, '' FROM products
      UNION ALL SELECT product_id, category_id FROM ancestry
      UNION ALL SELECT product_id, collection_id FROM product_collections
    ),
    offered(region_id, currency_code, locale, rank) AS (
      SELECT r.id, r.currency_code, l.value, l.key FROM regions r, json_each(r.locales) l
    ),
    price_ranges(product_id, currency_code, low, high) AS (
      SELECT v.product_id, pr.currency_code, MIN(pr.amount), MAX(pr.amount)
      FROM variants v JOIN prices pr ON pr.variant_id = v.id GROUP BY v.product_id, pr.currency_code
    ),
    ranked_titles AS (
      SELECT o.region_id, o.locale, t.product_id, t.title,
        ROW_NUMBER() OVER (PARTITION BY o.region_id, o.locale, t.product_id
          ORDER BY t.locale = o.locale DESC, other.rank IS NULL, other.rank, t.locale) AS n
      FROM offered o JOIN product_translations t
      LEFT JOIN offered other ON other.region_id = o.region_id AND other.locale = t.locale
    )
    SELECT o.region_id, o.locale, m.list_id, p.id AS product_id, p.created_at,
      pz.low AS min_price, pz.high AS max_price, rt.title
    FROM products p
    JOIN offered o
    JOIN price_ranges pz ON pz.product_id = p.id AND pz.currency_code = o.currency_code
    JOIN ranked_titles rt ON rt.region_id = o.region_id AND rt.locale = o.locale AND rt.product_id = p.id AND rt.n = 1
    JOIN memberships m ON m.product_id = p.id
    WHERE p.status = 'active'
    ORDER BY 1, 2, 3, 4`);
}

export async function actualDocuments(): Promise<Record<string, StorefrontDocument>> {
  const rows = await all<{ product_id: string; document: string }>(
    'SELECT product_id, document FROM storefront_documents',
  );
  return Object.fromEntries(rows.map((r) => [r.product_id, JSON.parse(r.document) as StorefrontDocument]));
}

/** Rows of (category or collection, one of its translations) as the labels a document holds, in row order. */
function labels(rows: { id: string; handle: string; locale: string | null; name: string | null }[]) {
  const byId = new Map<string, { id: string; handle: string; names: Record<string, string> }>();
  for (const row of rows) {
    const label = byId.get(row.id) ?? { id: row.id, handle: row.handle, names: {} };
    if (row.locale !== null && row.name !== null) label.names[row.locale] = row.name;
    byId.set(row.id, label);
  }
  return [...byId.values()];
}

/** Each active product's document, assembled from plain reads of its rows. */
export async function expectedDocuments(): Promise<Record<string, StorefrontDocument>> {
  const products = await all<{ id: string; handle: string; created_at: number }>(
    `SELECT id, handle, created_at FROM products WHERE status = 'active'`,
  );
  const documents: Record<string, StorefrontDocument> = {};
  for (const product of products) {
    const [translations, options, images, variants, prices] = await Promise.all([
      all<StorefrontDocument['translations'][number]>(
        'SELECT locale, title, description, seo_title, seo_description FROM product_translations WHERE product_id = ? ORDER BY locale',
        product.id,
      ),
      all<{ name: string }>(
        'SELECT name FROM product_options WHERE product_id = ? ORDER BY position, name',
        product.id,
      ),
      all<{ url: string; alt: string; position: number }>(
        'SELECT url, alt, position FROM product_images WHERE product_id = ? ORDER BY position, id',
        product.id,
      ),
      all<{
        id: string;
        sku: string;
        title: string;
        options: string;
        weight_grams: number | null;
        barcode: string | null;
      }>(
        'SELECT id, sku, title, options, weight_grams, barcode FROM variants WHERE product_id = ? ORDER BY position, id',
        product.id,
      ),
      all<{ variant_id: string; currency_code: string; amount: number }>(
        'SELECT pr.variant_id, pr.currency_code, pr.amount FROM prices pr JOIN variants v ON v.id = pr.variant_id WHERE v.product_id = ?',
        product.id,
      ),
    ]);
    const [categories, collections] = await Promise.all([
      all<{ id: string; handle: string; locale: string | null; name: string | null }>(
        `SELECT c.id, c.handle, t.locale, t.name FROM product_categories l JOIN categories c ON c.id = l.category_id
         LEFT JOIN category_translations t ON t.category_id = c.id WHERE l.product_id = ? ORDER BY c.handle`,
        product.id,
      ),
      all<{ id: string; handle: string; locale: string | null; name: string | null }>(
        `SELECT c.id, c.handle, t.locale, t.title AS name FROM product_collections l
         JOIN collections c ON c.id = l.collection_id
         LEFT JOIN collection_translations t ON t.collection_id = c.id WHERE l.product_id = ? ORDER BY c.handle`,
        product.id,
      ),
    ]);
    documents[product.id] = {
      handle: product.handle,
      created_at: product.created_at,
      translations,
      options: options.map((o) => o.name),
      images: images.map((i) => ({ url: i.url, alt: JSON.parse(i.alt), position: i.position })),
      categories: labels(categories),
      collections: labels(collections),
      variants: variants.map((v) => ({
        ...v,
        options: JSON.parse(v.options),
        prices: Object.fromEntries(
          prices.filter((p) => p.variant_id === v.id).map((p) => [p.currency_code, p.amount]),
        ),
      })),
    };
  }
  return documents;
}

/**
 * Lanes of a region, category or collection that is gone or of a locale their region no longer offers, and numbered
 * pairs of a region that is gone: there must be none once every step has run (their rows would be stale).
 */
export function rowsOutsideTheirOwners(): Promise<unknown[]> {
  return all(`SELECT 'lane' AS kind, l.lane AS id, l.region_id, l.locale, l.list_id FROM storefront_lanes l
      LEFT JOIN regions r ON r.id = l.region_id
      WHERE r.id IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(r.locales) WHERE value = l.locale)
        OR (l.category_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM categories c WHERE c.id = l.category_id))
        OR (l.collection_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM collections c WHERE c.id = l.collection_id))
    UNION ALL
    SELECT 'pair', k.row, k.region_id, NULL, NULL FROM storefront_search_rows k
      WHERE NOT EXISTS (SELECT 1 FROM regions r WHERE r.id = k.region_id)`);
}

type SearchRow = {
  region_id: string | null;
  product_id: string;
  lists: string;
  title: string | null;
  description: string | null;
};

/** Every full-text row with the (product, region) its number stands for (none for a row left behind). */
export function actualSearchRows(): Promise<SearchRow[]> {
  return all(`SELECT k.region_id, s.product_id, s.lists, s.title, s.description
    FROM storefront_search s LEFT JOIN storefront_search_rows k ON k.row = s.rowid AND k.product_id = s.product_id
    ORDER BY 1, 2`);
}

/**
 * The words of a product's option values in its full-text rows: `o` and the upper-case hex of the UTF-8 of name,
 * unit separator and value, each once, in order.
 */
function optionWords(variants: { options: string }[]): string[] {
  const hex = (text: string) =>
    [...new TextEncoder().encode(text)].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join('');
  const words = variants.flatMap((v) =>
    Object.entries(JSON.parse(v.options) as Record<string, string>).map(
      ([name, value]) => `o${hex(`${name}\x1f${value}`)}`,
    ),
  );
  return [...new Set(words)].sort();
}

/**
 * The price words of a row (src/db/price-words.ts), spelled out from their definition: for its dearest (`ph`) and
 * its cheapest (`pl`) price, how many base-4 digits it has, then the price with its lowest 0, 1, ... digits
 * dropped while anything is left, in hex.
 */
function priceWords(cheapest: number, dearest: number): string[] {
  const words = (side: string, price: number) => {
    const digits = price === 0 ? 0 : price.toString(4).length;
    const prefixes = Array.from({ length: digits }, (_, level) =>
      Number.parseInt(price.toString(4).slice(0, digits - level), 4).toString(16),
    );
    return [`${side}m${digits}`, ...prefixes.map((prefix, level) => `${side}${level}x${prefix}`)];
  };
  return [...words('ph', dearest), ...words('pl', cheapest)];
}

/**
 * What the full-text rows should be, from the expected entries: one per product sold in a region, its lists the
 * region then the product's lists there (ids without their `_`), the words of its prices there and of its option
 * values, its text the translations in the region's locales, by locale.
 */
export async function expectedSearchRows(entries: EntryRow[]): Promise<SearchRow[]> {
  const regions = await all<{ id: string; locales: string }>('SELECT id, locales FROM regions');
  const translations = await all<{ product_id: string; locale: string; title: string; description: string }>(
    'SELECT product_id, locale, title, description FROM product_translations ORDER BY locale',
  );
  const variants = await all<{ product_id: string; options: string }>(
    'SELECT product_id, options FROM variants',
  );
  const lists = new Map<string, Set<string>>();
  const prices = new Map<string, string[]>();
  for (const entry of entries) {
    const key = `${entry.region_id} ${entry.product_id}`;
    const set = lists.get(key) ?? new Set<string>();
    if (entry.list_id !== '') set.add(entry.list_id);
    lists.set(key, set);
    prices.set(key, priceWords(entry.min_price, entry.max_price));
  }
  const rows = [...lists].map(([key, ids]): SearchRow => {
    const [regionId, productId] = key.split(' ') as [string, string];
    const locales: string[] = JSON.parse(regions.find((r) => r.id === regionId)?.locales ?? '[]');
    const texts = translations.filter((t) => t.product_id === productId && locales.includes(t.locale));
    const joined = (field: 'title' | 'description') =>
      texts.length === 0 ? null : texts.map((t) => t[field]).join(' ');
    return {
      region_id: regionId,
      product_id: productId,
      lists: [
        [regionId, ...[...ids].sort()].join(' ').replaceAll('_', ''),
        ...(prices.get(key) ?? []),
        ...optionWords(variants.filter((v) => v.product_id === productId)),
      ].join(' '),
      title: joined('title'),
      description: joined('description'),
    };
  });
  const order = (row: SearchRow) => `${row.region_id} ${row.product_id}`;
  return rows.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}

type OrderedSearchRow = { region_id: string | null; product_id: string | null; key: number; words: string };

/**
 * The words of each row of a full-text index, as `column:word` in order, by rowid. Read through an fts5vocab
 * table (made here, for tests only): the ordered copies are contentless, so their rows cannot be read back.
 */
async function indexedWords(index: 'storefront_search' | SearchOrder['table'] | 'storefront_search_titles') {
  await env.DB.exec(
    `CREATE VIRTUAL TABLE IF NOT EXISTS ${index}_words USING fts5vocab(${index}, 'instance')`,
  );
  return all<{ doc: number; pair: number; key: number; words: string }>(
    `SELECT doc, doc & ${2 ** PAIR_BITS - 1} AS pair, doc >> ${PAIR_BITS} AS key,
      group_concat(col || ':' || term, ' ' ORDER BY col, term) AS words
    FROM (SELECT DISTINCT doc, col, term FROM ${index}_words) GROUP BY doc`,
  );
}

type PairRow = { row: number; region_id: string; product_id: string; price_key: number; date_key: number };

/**
 * Every row of an ordered copy of the full-text index, with the (product, region) its rowid names when that
 * pair's stored key is the one the rowid holds (none for a row left behind), its key and its words.
 */
export async function actualOrderedSearchRows(order: SearchOrder): Promise<OrderedSearchRow[]> {
  const pairs = await all<PairRow>('SELECT * FROM storefront_search_rows');
  const byRow = new Map(pairs.map((p) => [p.row, p]));
  const rows = (await indexedWords(order.table)).map(({ pair, key, words }) => {
    const named = byRow.get(pair);
    const current = named?.[order.keyColumn] === key ? named : undefined;
    return { region_id: current?.region_id ?? null, product_id: current?.product_id ?? null, key, words };
  });
  return rows.sort(byPair);
}

/**
 * What an ordered copy should hold: a row per row of storefront_search with the same words, under the key of the
 * pair's lowest price in the region or of its product's creation (from the expected entries).
 */
export async function expectedOrderedSearchRows(
  order: SearchOrder,
  entries: EntryRow[],
): Promise<OrderedSearchRow[]> {
  const pairs = await all<PairRow>('SELECT * FROM storefront_search_rows');
  const byRow = new Map(pairs.map((p) => [p.row, p]));
  const value = new Map<string, number>();
  for (const e of entries) {
    const pair = `${e.region_id} ${e.product_id}`;
    const own = e[order.field];
    value.set(pair, Math.min(value.get(pair) ?? Number.POSITIVE_INFINITY, own));
  }
  const rows = (await indexedWords('storefront_search')).map(({ doc, words }) => {
    const pair = byRow.get(doc);
    const sorted = value.get(`${pair?.region_id} ${pair?.product_id}`);
    return {
      region_id: pair?.region_id ?? null,
      product_id: pair?.product_id ?? null,
      key: sorted === undefined ? -1 : order.key(sorted),
      words,
    };
  });
  return rows.sort(byPair);
}

const byPair = (a: OrderedSearchRow, b: OrderedSearchRow) => {
  const [x, y] = [`${a.region_id} ${a.product_id} ${a.words}`, `${b.region_id} ${b.product_id} ${b.words}`];
  return x < y ? -1 : x > y ? 1 : 0;
};

type TitleRow = {
  region_id: string | null;
  locale: string | null;
  product_id: string | null;
  words: string[];
};

/** A row's words, each `column:word`, as a sorted list: a row's words are compared, not their order. */
const wordList = (words: string) => words.split(' ').sort();

/**
 * Every row of the title-ordered copy of the index, with the whole-catalog entry whose `title_label` and
 * `title_row` its rowid holds (none for a row left behind), and its words.
 */
export async function actualTitleRows(): Promise<TitleRow[]> {
  const entries = await all<{
    region_id: string;
    locale: string;
    product_id: string;
    key: number;
    place: number;
  }>(
    `SELECT l.region_id, l.locale, e.product_id, e.title_label AS key, e.title_row & ${2 ** PAIR_BITS - 1} AS place
    FROM storefront_entries e JOIN storefront_lanes l ON l.lane = e.lane
    WHERE e.title_row IS NOT NULL AND e.title_row >> ${PAIR_BITS} = e.title_label`,
  );
  const byRowid = new Map(entries.map((e) => [`${e.key} ${e.place}`, e]));
  const rows = (await indexedWords('storefront_search_titles')).map(({ key, pair, words }) => {
    const entry = byRowid.get(`${key} ${pair}`);
    return {
      region_id: entry?.region_id ?? null,
      locale: entry?.locale ?? null,
      product_id: entry?.product_id ?? null,
      words: wordList(words),
    };
  });
  return rows.sort(byEntry);
}

/**
 * What the title-ordered copy should hold: a row per whole-catalog entry (from the expected entries), under the
 * pair's number and the locale's position in the region's locales, with the words of the pair's full-text row
 * and the word of its lane.
 */
export async function expectedTitleRows(entries: EntryRow[]): Promise<TitleRow[]> {
  const pairs = await all<PairRow>('SELECT * FROM storefront_search_rows');
  const lanes = await all<{ lane: number; region_id: string; locale: string }>(
    "SELECT lane, region_id, locale FROM storefront_lanes WHERE list_id = ''",
  );
  const words = new Map((await indexedWords('storefront_search')).map((row) => [row.doc, row.words]));
  const rows = entries
    .filter((e) => e.list_id === '')
    .flatMap((e): TitleRow[] => {
      const pair = pairs.find((p) => p.region_id === e.region_id && p.product_id === e.product_id);
      const lane = lanes.find((l) => l.region_id === e.region_id && l.locale === e.locale);
      if (pair === undefined || pair.row >= 2 ** (PAIR_BITS - LOCALE_BITS)) return [];
      return [
        {
          region_id: e.region_id,
          locale: e.locale,
          product_id: e.product_id,
          words: wordList(`${words.get(pair.row)} lists:ln${lane?.lane}`),
        },
      ];
    });
  return rows.sort(byEntry);
}

const byEntry = (a: TitleRow, b: TitleRow) => {
  const [x, y] = [`${a.region_id} ${a.locale} ${a.product_id}`, `${b.region_id} ${b.locale} ${b.product_id}`];
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * Entries whose title labels break the rules: in a whole-catalog lane, a label missing, outside 0 .. 2^32 - 2,
 * below the one before it in (title, product id) order, or a title row not under it with the pair's number and
 * the locale's position (in the region's locales when the row was written: with no rebuild of the region under
 * way, its locales now); in any other lane, a label or a title row at all.
 */
export async function misplacedTitleLabels(): Promise<unknown[]> {
  const entries = await all<{
    lane: number;
    whole: number;
    product_id: string;
    title: string;
    label: number | null;
    row_label: number | null;
    place: number | null;
    expected_place: number | null;
  }>(`SELECT e.lane, l.list_id = '' AS whole, e.product_id, e.title, e.title_label AS label,
      e.title_row >> ${PAIR_BITS} AS row_label, e.title_row & ${2 ** PAIR_BITS - 1} AS place,
      (SELECT (k.row << ${LOCALE_BITS}) | loc.key FROM storefront_search_rows k JOIN regions r ON r.id = k.region_id
        JOIN json_each(r.locales) loc ON loc.value = l.locale
        WHERE k.product_id = e.product_id AND k.region_id = l.region_id) AS expected_place
    FROM storefront_entries e JOIN storefront_lanes l ON l.lane = e.lane
    ORDER BY e.lane, e.title, e.product_id`);
  const wrong: unknown[] = [];
  let previous: (typeof entries)[number] | undefined;
  for (const entry of entries) {
    const { whole, label, row_label, place, expected_place } = entry;
    const sameLane = previous?.lane === entry.lane;
    const bad = whole
      ? label === null ||
        label < 0 ||
        label > 2 ** 32 - 2 ||
        (sameLane && previous?.label !== null && label < (previous?.label as number)) ||
        row_label !== label ||
        place !== expected_place
      : label !== null || place !== null;
    if (bad) wrong.push({ ...entry, previous: sameLane ? previous?.label : undefined });
    previous = entry;
  }
  return wrong;
}

/** The whole read model equals what the catalog tables say. */
export async function expectStorefrontMatchesCatalog(): Promise<void> {
  const entries = await expectedEntries();
  expect(await actualEntries()).toStrictEqual(entries);
  expect(await actualSearchRows()).toStrictEqual(await expectedSearchRows(entries));
  for (const order of SEARCH_ORDERS) {
    expect(await actualOrderedSearchRows(order)).toStrictEqual(
      await expectedOrderedSearchRows(order, entries),
    );
  }
  expect(await actualTitleRows()).toStrictEqual(await expectedTitleRows(entries));
  expect(await misplacedTitleLabels()).toStrictEqual([]);
  expect(await actualDocuments()).toStrictEqual(await expectedDocuments());
  expect(await rowsOutsideTheirOwners()).toStrictEqual([]);
}

/** The products listed in the lanes of a list (a category or collection id; every region and locale), by id. */
export async function listedIn(listId: string): Promise<string[]> {
  const ids = (await actualEntries()).filter((e) => e.list_id === listId).map((e) => e.product_id);
  return [...new Set(ids)].sort();
}

/** The rebuild mark of a target (a region, category or collection id), if its rebuild is under way. */
export function rebuildMarks(target: string) {
  return all<{ target: string; after_product: string; requested_at: number }>(
    'SELECT target, after_product, requested_at FROM storefront_rebuilds WHERE target = ?',
    target,
  );
}

/** The version of the listings' cache scope (0 before any write). */
export async function listingVersion(): Promise<number> {
  return (
    (await all<{ version: number }>(`SELECT version FROM cache_versions WHERE scope = 'listing'`))[0]
      ?.version ?? 0
  );
}

/** The products whose full-text rows name a list (a category or collection id), by id. */
export async function searchedIn(listId: string): Promise<string[]> {
  const word = listId.replaceAll('_', '');
  const ids = (await actualSearchRows())
    .filter((r) => r.lists.split(' ').includes(word))
    .map((r) => r.product_id);
  return [...new Set(ids)].sort();
}

/** The products a deleted category's or collection's rebuild still walks (captured by the delete), by id. */
export async function capturedFor(target: string): Promise<string[]> {
  const rows = await all<{ product_id: string }>(
    'SELECT product_id FROM storefront_rebuild_products WHERE target = ? ORDER BY product_id',
    target,
  );
  return rows.map((r) => r.product_id);
}

/** The test env with rebuilds in steps of `step` products. */
export const steppedEnv = (step: number): Env => ({ ...env, STOREFRONT_REBUILD_CHUNK: String(step) });

/** Until every rebuild is done: a deadline no test's steps reach. */
export const untilDone = () => ({ deadline: Date.now() + 60_000 });

/** One step of `target`'s rebuild, committed on `db` as a runner commits it (its version bump aside). */
export async function runRebuildStep(
  db: Database,
  target: Parameters<typeof rebuildStep>[1],
  chunk: number,
): Promise<void> {
  const [first, ...rest] = rebuildStep(db, target, chunk);
  if (first) await db.batch([first, ...rest]);
}
