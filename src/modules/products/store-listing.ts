/**
 * The storefront listing query over the read model (src/db/schema/storefront.ts): one SQL statement that
 * filters, sorts and keyset-paginates the products sold in a region. Every value is bound; only fixed fragments
 * chosen from the tables below are concatenated.
 *
 * What a page reads (docs/ARCHITECTURE.md, "Storefront read model"):
 * - Without a search, two lists or option values, one lane is walked in the order of the sort's index: the
 *   region's whole catalog, or the category (subcategories included) or collection asked for. The walk stops
 *   after `limit + 1` rows that pass the other filters, checked on each walked row: a price bound (the entry's own
 *   price range), or a price range the entry cannot settle (the product's document).
 *   A page reads `limit + 1` entries when every walked row matches, and that divided by the share of the lane
 *   that matches otherwise. A price sort with a minimum price walks the lane once per spread level instead
 *   (store-price-floor.ts): one walk would pass over every product priced wholly below the minimum.
 * - With a search, or a category and a collection, or option values, or a price bound newest first or by title,
 *   the full-text index finds the products (the bound's price words, src/db/price-words.ts: a lane walk would pass
 *   over every product outside it): by relevance it is walked, by date or price an ordered copy of it
 *   (store-search.ts), by title its title-ordered copy (store-title-index.ts).
 */

import { BY_DATE, BY_PRICE, type SearchOrder } from '../../db/fts';
import { priceBoundTerms } from '../../db/price-words';
import { decodeCursor, type KeyShape } from '../../lib/pagination';
import type { StoreContext } from '../../lib/store-context';
import { priceFloorQuery } from './store-price-floor';
import {
  type Fragment,
  joined,
  type List,
  type ListingRow,
  laneOf,
  NOTHING_LISTED,
  optionsJson,
  SELECTED,
} from './store-query-parts';
import type { ListProductsQuery, OptionValue, ProductSort } from './store-schemas';
import { orderedIndexQuery, RELEVANCE_SHAPE, relevanceQuery } from './store-search';
import { titleIndexQuery } from './store-title-index';

/** `shape` is what a cursor's key must hold: a forged cursor is a 422, not a 500. */
type SortSpec = {
  /** The sort column and its direction; in a lane walk and by title the product id breaks ties in the same
   * direction. */
  column: string;
  /** The index a lane is walked by in this order. */
  index?: string;
  direction: 'ASC' | 'DESC';
  shape: KeyShape;
  key: (row: ListingRow) => (string | number)[];
  /** The ordered copy of the full-text index (src/db/fts.ts) a walk of the index takes for this sort. */
  ordered?: SearchOrder;
};

const SORTS: Record<ProductSort, SortSpec> = {
  newest: {
    column: 'e.created_at',
    index: 'storefront_entries_newest_idx',
    direction: 'DESC',
    shape: ['integer', 'text'],
    key: (r) => [r.created_at, r.id],
    ordered: BY_DATE,
  },
  price_asc: {
    column: 'e.min_price',
    index: 'storefront_entries_price_idx',
    direction: 'ASC',
    shape: ['integer', 'text'],
    key: (r) => [r.min_price, r.id],
    ordered: BY_PRICE,
  },
  price_desc: {
    column: 'e.min_price',
    index: 'storefront_entries_price_idx',
    direction: 'DESC',
    shape: ['integer', 'text'],
    key: (r) => [r.min_price, r.id],
    ordered: BY_PRICE,
  },
  title_asc: {
    column: 'e.title',
    index: 'storefront_entries_title_idx',
    direction: 'ASC',
    shape: ['text', 'text'],
    key: (r) => [r.title, r.id],
  },
  title_desc: {
    column: 'e.title',
    index: 'storefront_entries_title_idx',
    direction: 'DESC',
    shape: ['text', 'text'],
    key: (r) => [r.title, r.id],
  },
  relevance: { column: 'rank', direction: 'ASC', shape: RELEVANCE_SHAPE, key: (r) => [r.rank, r.id] },
};

export function sortOf(query: ListProductsQuery): ProductSort {
  return query.sort ?? (query.q ? 'relevance' : 'newest');
}

/**
 * Whether the full-text index finds the query's products, rather than a walk of one lane: with a search, two
 * lists, option values, or a price bound in any order but price's. Lists, option values and prices are words of
 * each row, so FTS5 finds the products that have them all, where a walk of one list's lane would pass over every
 * product of it without them. Sorted by price, a lane walks its price index from the bound (store-price-floor.ts).
 */
const usesIndex = (query: ListProductsQuery) =>
  query.q !== undefined ||
  listsOf(query).length > 1 ||
  query.option.length > 0 ||
  (SORTS[sortOf(query)].column !== 'e.min_price' &&
    priceBoundTerms(query.price_min, query.price_max) !== undefined);

/** The ordered copy of the index a query walks: if it uses the index, and its sort has one (date or price). */
const orderedCopyOf = (query: ListProductsQuery) =>
  usesIndex(query) ? SORTS[sortOf(query)].ordered : undefined;

/** The key a page's cursor holds, from its last row. */
export function cursorKeyOf(query: ListProductsQuery): (row: ListingRow) => (string | number)[] {
  const ordered = orderedCopyOf(query);
  return ordered ? (r) => [r[ordered.field], r.rank] : SORTS[sortOf(query)].key;
}

/** The lists the query names, the one to walk first: a category, else a collection, else the whole catalog. */
function listsOf(query: ListProductsQuery): List[] {
  const lists: List[] = [];
  if (query.category !== undefined) lists.push({ kind: 'category', handle: query.category });
  if (query.collection !== undefined) lists.push({ kind: 'collection', handle: query.collection });
  return lists.length > 0 ? lists : [{ kind: 'all' }];
}

/**
 * Whether one variant priced in the region currency satisfies the price bounds and every option value, checked
 * against the product's document (read only for the rows that get this far). Needed only when the entry's
 * price range cannot answer: options (whichever bounds are given must hold for the variant that has them), or a
 * range strictly inside the product's own (its cheapest variant below the range and its dearest above).
 * json_each compares option names as plain keys: no JSON path is built from client text.
 */
function variantCondition(query: ListProductsQuery, currency: string): Fragment | undefined {
  const { price_min: min, price_max: max, option: options } = query;
  const bothBounds = min !== undefined && max !== undefined;
  if (!bothBounds && options.length === 0) return undefined;
  const conditions = ['pv.amount IS NOT NULL'];
  const params: unknown[] = [];
  if (min !== undefined) {
    conditions.push('pv.amount >= ?');
    params.push(min);
  }
  if (max !== undefined) {
    conditions.push('pv.amount <= ?');
    params.push(max);
  }
  if (options.length > 0) {
    // Every value asked for (one bound JSON array of [name, value]: ten options would otherwise bind twenty values,
    // twice in a walk of an ordered copy of the index) is on the variant.
    conditions.push(`NOT EXISTS (SELECT 1 FROM json_each(?) f WHERE NOT EXISTS (
      SELECT 1 FROM json_each(pv.options) o WHERE o.key = f.value ->> 0 AND o.value = f.value ->> 1))`);
    params.push(optionsJson(options));
  }
  const variants: Fragment = {
    sql: `EXISTS (SELECT 1 FROM (
      SELECT v.value -> '$.prices' ->> ? AS amount, v.value -> '$.options' AS options
      FROM storefront_documents d CROSS JOIN json_each(d.document, '$.variants') v
      WHERE d.product_id = e.product_id
    ) pv WHERE ${conditions.join(' AND ')})`,
    params: [currency, ...params],
  };
  if (options.length > 0) return variants;
  // With the entry already overlapping the range: its cheapest or dearest variant inside the range is a match.
  return {
    sql: `(e.min_price >= ? OR e.max_price <= ? OR ${variants.sql})`,
    params: [min, max, ...variants.params],
  };
}

/**
 * Whether the option values asked for give one option two values: no variant has both, so nothing matches. Their
 * words are common (each value on many products), so a walk would read every product that has both on some
 * variants, a whole lane where every product comes in both sizes, to find none.
 */
const contradictory = (options: OptionValue[]) =>
  new Set(options.map((o) => o.name)).size <
  new Set(options.map((o) => JSON.stringify([o.name, o.value]))).size;

/**
 * That an entry's price range meets the price bounds: a product has a variant priced at or above a minimum exactly
 * when its highest price is; likewise below.
 */
const priceChecksOf = ({ price_min: min, price_max: max }: ListProductsQuery): Fragment[] => [
  ...(min === undefined ? [] : [{ sql: 'e.max_price >= ?', params: [min] }]),
  ...(max === undefined ? [] : [{ sql: 'e.min_price <= ?', params: [max] }]),
];

export function buildListingQuery(query: ListProductsQuery, store: StoreContext): Fragment {
  if (contradictory(query.option)) return NOTHING_LISTED;
  const sort = SORTS[sortOf(query)];
  const lists = listsOf(query);
  const [walked, ...others] = lists;
  const lane = laneOf(walked as List, store);
  const where: Fragment[] = [];
  for (const list of others) {
    const other = laneOf(list, store);
    where.push({
      sql: `EXISTS (SELECT 1 FROM storefront_entries m WHERE m.lane = ${other.sql} AND m.product_id = e.product_id)`,
      params: other.params,
    });
  }
  where.push(...priceChecksOf(query));
  const variants = variantCondition(query, store.region.currencyCode);
  if (variants) where.push(variants);
  if (query.q && sortOf(query) === 'relevance') return relevanceQuery(query, store, lists, where);
  const ordered = orderedCopyOf(query);
  if (ordered) {
    return orderedIndexQuery(query, store, lists, where, sortOf(query), sort.direction, ordered);
  }

  const cursor = query.cursor ? decodeCursor(query.cursor, sortOf(query), sort.shape) : undefined;
  if (usesIndex(query)) {
    // By title: relevance and the other sorts with an ordered copy of the index have returned above.
    const after = cursor as [string, string] | undefined;
    return titleIndexQuery(query, store, lists, where, sort.direction, after);
  }
  // A walk of the index by price has returned above: a price sort left here walks a lane.
  if (sort.column === 'e.min_price' && query.price_min !== undefined) {
    const after = cursor as [number, string] | undefined;
    return priceFloorQuery(lane, query.price_min, after, where, sort.direction, query.limit + 1);
  }
  if (cursor) {
    const after = sort.direction === 'ASC' ? '>' : '<';
    where.push({ sql: `(${sort.column}, e.product_id) ${after} (?, ?)`, params: cursor });
  }

  // The sort's index, named: left to itself, SQLite may pick another index that matches a filter (price_max and
  // the price index) and then sort everything that matched, which grows with the catalog.
  const conditions = joined([{ sql: `e.lane = ${lane.sql}`, params: lane.params }, ...where], ' AND ');
  const sql = `SELECT ${SELECTED('0')}
    FROM storefront_entries e INDEXED BY ${sort.index}
    WHERE ${conditions.sql}
    ORDER BY ${sort.column} ${sort.direction}, e.product_id ${sort.direction} LIMIT ?`;
  return { sql, params: [...conditions.params, query.limit + 1] };
}
