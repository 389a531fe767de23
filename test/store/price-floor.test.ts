/**
 * A listing sorted by price with a minimum price walks each spread level of the lane on its own, from the minimum
 * less the level's width (src/modules/products/store-price-floor.ts); with a search, the price-ordered copy of the
 * full-text index is walked from the minimum less the width of the lane's widest level. Whatever the products'
 * spreads, from none to past the last level's, the pages must list every product with a variant priced at or
 * above the minimum, in the order of its lowest price (ties by id, or with a search by the order the products
 * were first sold in the region), each once, page after page, in both directions, and with a maximum price too.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { SPREAD_LEVELS } from '../../src/db/schema/storefront';
import type { StoreContext } from '../../src/lib/store-context';
import { insertRegion } from '../helpers/bulk-catalog';
import { insertCategoryRow, insertProductRow } from '../helpers/catalog-fixtures';
import { listedIds } from '../helpers/listing-pages';

/** A currency no other test prices in: the region made here lists these products only. */
const CURRENCY = 'ISK';
const LIMIT = 10 ** 12 - 1;
const HUGE = 2 ** 39;

/**
 * Each product's lowest and highest price (a variant at each). Spreads at both sides of level boundaries (511 and
 * 512, 1,023 and 1,024), equal lowest prices at several levels, spreads in the last level (from 2^39), and the
 * widest spread of level 11 (2,047), which reaches a minimum of 5,047 from the lowest price that can.
 */
const RANGES: [number, number][] = [
  [0, 0],
  [0, 1_000],
  [1, 1_000_000],
  [3, HUGE + 2],
  [5, LIMIT],
  [500, 2_000],
  [990, 1_014],
  [999, 1_002],
  [1_000, 1_000],
  [1_000, 1_001],
  [1_000, 1_511],
  [1_000, 1_512],
  [1_000, 2_023],
  [1_000, 2_024],
  [1_000, HUGE + 1_000],
  [1_200, 1_700],
  [1_200, 1_700],
  [1_499, 1_499],
  [1_499, 1_500],
  [1_600, 1_600],
  [2_000, 2_000],
  [3_000, 5_047],
  [LIMIT, LIMIT],
];

/** Minimums at, below and above the prices and the level boundaries, and past every price. */
const MINIMUMS = [
  0,
  1,
  999,
  1_000,
  1_001,
  1_014,
  1_015,
  1_500,
  1_501,
  1_512,
  1_513,
  2_000,
  2_001,
  2_024,
  2_025,
  5_047,
  5_048,
  1_000_000,
  HUGE,
  HUGE + 1_001,
  LIMIT,
  LIMIT + 1,
  Number.MAX_SAFE_INTEGER,
];

/** Every product's title has it. */
const WORD = 'floorword';

/** Categories of the products whose spread is below a bound: the widest level of each one's lane. */
const CATEGORIES = { narrow: 2 ** 11, wide: 2 ** 39 } as const;
type Category = keyof typeof CATEGORIES;

/** `order`: the order they were made in, the tie-break of a search; `categories`: the ones it is listed in. */
type Product = { id: string; min: number; max: number; order: number; categories: Category[] };

let store: StoreContext;
const products: Product[] = [];
/**
 * Each category's handle. In `narrow` the widest level is 11, so a search there starts its walk at the minimum
 * less 2,047; in `wide` it is 39, a start far below zero for any minimum.
 */
const handles = {} as Record<Category, string>;

beforeAll(async () => {
  store = await insertRegion({ code: 'floor', currency: CURRENCY, locales: ['en'] });
  const ids = {} as Record<Category, string>;
  for (const name of Object.keys(CATEGORIES) as Category[]) {
    const category = await insertCategoryRow({ names: { en: name } });
    [ids[name], handles[name]] = [category.id, category.handle];
  }
  for (const [order, [min, max]] of RANGES.entries()) {
    const prices = min === max ? [min] : [min, max];
    const categories = (Object.keys(CATEGORIES) as Category[]).filter((name) => max - min < CATEGORIES[name]);
    const { id } = await insertProductRow({
      translations: { en: { title: `${WORD} ${order}` } },
      variants: prices.map((amount) => ({ prices: { [CURRENCY]: amount } })),
      categoryIds: categories.map((name) => ids[name]),
    });
    products.push({ id, min, max, order, categories });
  }
});

type Listing = { search?: boolean; category?: Category };

/** What the listing must show: the products with a variant priced within the bounds, in price order. */
function expected(direction: 1 | -1, minimum: number, maximum?: number, listing: Listing = {}): string[] {
  const within = (price: number) => price >= minimum && (maximum === undefined || price <= maximum);
  const tie = (a: Product, b: Product) => (listing.search ? a.order - b.order : a.id < b.id ? -1 : 1);
  return products
    .filter((p) => within(p.min) || within(p.max))
    .filter((p) => listing.category === undefined || p.categories.includes(listing.category))
    .sort((a, b) => direction * (a.min - b.min || tie(a, b)))
    .map((p) => p.id);
}

/** Every page of the listing, `limit` products a page, by id. */
async function listed(
  sort: 'price_asc' | 'price_desc',
  filters: Record<string, string>,
  limit: number,
  listing: Listing = {},
) {
  const fields = {
    sort,
    ...filters,
    ...(listing.search ? { q: WORD } : {}),
    ...(listing.category ? { category: handles[listing.category] } : {}),
  };
  return listedIds(store, fields, { limit });
}

describe('a listing by price with a minimum price', () => {
  it('stores each entry’s spread level: the least power of two above its spread, the last level past 2^39', async () => {
    const { results } = await env.DB.prepare(
      `SELECT e.min_price, e.max_price, e.spread_level FROM storefront_entries e
       JOIN storefront_lanes l ON l.lane = e.lane WHERE l.region_id = ? AND l.list_id = ''`,
    )
      .bind(store.region.id)
      .all<{ min_price: number; max_price: number; spread_level: number }>();
    const levelOf = (spread: number) =>
      Math.min(spread === 0 ? 0 : Math.floor(Math.log2(spread)) + 1, SPREAD_LEVELS - 1);
    expect(results).toHaveLength(RANGES.length);
    for (const row of results) expect(row.spread_level).toBe(levelOf(row.max_price - row.min_price));
    expect(new Set(results.map((r) => r.spread_level))).toStrictEqual(
      new Set([0, 1, 2, 5, 9, 10, 11, 20, 39, 40]),
    );
  });

  it.each([1, 3, 25])(
    'lists every product that reaches the minimum, in order, both ways, %i a page',
    async (limit) => {
      for (const minimum of MINIMUMS) {
        const filters = { price_min: String(minimum) };
        expect(await listed('price_asc', filters, limit)).toStrictEqual(expected(1, minimum));
        expect(await listed('price_desc', filters, limit)).toStrictEqual(expected(-1, minimum));
      }
    },
  );

  it('with a maximum price too, lists the products with a variant priced between them', async () => {
    for (const [minimum, maximum] of [
      [1_000, 1_500],
      [1_001, 1_499],
      [1_500, 1_500],
      [0, HUGE],
      [1_013, LIMIT - 1],
    ] as const) {
      const filters = { price_min: String(minimum), price_max: String(maximum) };
      expect(await listed('price_asc', filters, 2)).toStrictEqual(expected(1, minimum, maximum));
      expect(await listed('price_desc', filters, 2)).toStrictEqual(expected(-1, minimum, maximum));
    }
  });

  it.each<[string, Listing]>([
    ['a search', { search: true }],
    ['a search in a category of narrow spreads', { search: true, category: 'narrow' }],
    ['a search in a category of spreads below 2^39', { search: true, category: 'wide' }],
    ['a category of narrow spreads', { category: 'narrow' }],
  ])('lists the same with %s, both ways', async (_name, listing) => {
    for (const minimum of MINIMUMS) {
      const filters = { price_min: String(minimum) };
      expect(await listed('price_asc', filters, 3, listing)).toStrictEqual(
        expected(1, minimum, undefined, listing),
      );
      expect(await listed('price_desc', filters, 3, listing)).toStrictEqual(
        expected(-1, minimum, undefined, listing),
      );
    }
  });
});
