/**
 * The storefront listing query over the read model (src/db/schema/storefront.ts): one SQL statement that
 * filters, sorts and keyset-paginates the products sold in a region. Every value is bound; only fixed fragments
 * chosen from the tables below are concatenated.
 *
 * What a page reads (docs/ARCHITECTURE.md, "Storefront read model"):
 * - Without a search, one lane is walked in the order of the sort's index: the region's whole catalog, or the
 *   category (subcategories included) or collection asked for. The walk stops after `limit + 1` rows that pass
 *   the other filters, checked on each walked row: a second list (a primary-key lookup), a price bound (the
 *   entry's own price range), a price range or option values the entry cannot settle (the product's document).
 *   A page reads `limit + 1` entries when every walked row matches, and that divided by the share of the lane
 *   that matches otherwise. The exception: cheapest first with a minimum price walks past every product priced
 *   wholly below it.
 * - With a search, FTS5 finds the matching (product, locale) rows; each matching product costs one entry lookup
 *   (sort keys, and whether it is sold here), and the matches are sorted: proportional to the matches, which FTS
 *   bounds, not to the catalog.
 */

import { localeChainParam } from '../../lib/locale-sql';
import { decodeCursor, type KeyShape } from '../../lib/pagination';
import type { StoreContext } from '../../lib/store-context';
import { toFtsQuery } from './search-query';
import type { ListProductsQuery, ProductSort } from './store-schemas';

export type ListingRow = { id: string; created_at: number; min_price: number; title: string; rank: number };

/** SQL text and the values its placeholders take, in order. */
type Fragment = { sql: string; params: unknown[] };

/** `shape` is what a cursor's key must hold: a forged cursor is a 422, not a 500. */
type SortSpec = {
  /** The sort column and its direction; the product id breaks ties in the same direction. */
  column: string;
  /** The index a lane is walked by in this order (a search sorts its matches instead). */
  index?: string;
  direction: 'ASC' | 'DESC';
  shape: KeyShape;
  key: (row: ListingRow) => (string | number)[];
};

const SORTS: Record<ProductSort, SortSpec> = {
  newest: {
    column: 'e.created_at',
    index: 'storefront_entries_newest_idx',
    direction: 'DESC',
    shape: ['integer', 'text'],
    key: (r) => [r.created_at, r.id],
  },
  price_asc: {
    column: 'e.min_price',
    index: 'storefront_entries_price_idx',
    direction: 'ASC',
    shape: ['integer', 'text'],
    key: (r) => [r.min_price, r.id],
  },
  price_desc: {
    column: 'e.min_price',
    index: 'storefront_entries_price_idx',
    direction: 'DESC',
    shape: ['integer', 'text'],
    key: (r) => [r.min_price, r.id],
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
  relevance: { column: 'hit.rank', direction: 'ASC', shape: ['number', 'text'], key: (r) => [r.rank, r.id] },
};

export function sortOf(query: ListProductsQuery): ProductSort {
  return query.sort ?? (query.q ? 'relevance' : 'newest');
}

export function sortKeyOf(sort: ProductSort) {
  return SORTS[sort].key;
}

type List = { kind: 'all' } | { kind: 'category' | 'collection'; handle: string };

const LIST_ID: Record<List['kind'], string> = {
  all: `''`,
  category: '(SELECT id FROM categories WHERE handle = ?)',
  collection: '(SELECT id FROM collections WHERE handle = ?)',
};

/** The lane of `list` in the store's region and locale, as a scalar subquery (NULL when there is none). */
export function laneOf(list: List, store: StoreContext): Fragment {
  return {
    sql: `(SELECT lane FROM storefront_lanes WHERE region_id = ? AND locale = ? AND list_id = ${LIST_ID[list.kind]})`,
    params: [store.region.id, store.locale, ...(list.kind === 'all' ? [] : [list.handle])],
  };
}

/** The lists the query names, the one to walk first: a category, else a collection, else the whole catalog. */
function listsOf(query: ListProductsQuery): List[] {
  const lists: List[] = [];
  if (query.category !== undefined) lists.push({ kind: 'category', handle: query.category });
  if (query.collection !== undefined) lists.push({ kind: 'collection', handle: query.collection });
  return lists.length > 0 ? lists : [{ kind: 'all' }];
}

/**
 * Whether one variant priced in the region currency satisfies the price range and every option value, checked
 * against the product's document (read only for the rows that get this far). Needed only when the entry's
 * price range cannot answer: options, or a range strictly inside the product's own (its cheapest variant below
 * the range and its dearest above). json_each compares option names as plain keys: no JSON path is built from
 * client text.
 */
function variantCondition(query: ListProductsQuery, currency: string): Fragment | undefined {
  const { price_min: min, price_max: max } = query;
  const bothBounds = min !== undefined && max !== undefined;
  if (!bothBounds && query.option.length === 0) return undefined;
  const conditions = ['pv.amount IS NOT NULL'];
  const params: unknown[] = [currency];
  if (bothBounds) {
    conditions.push('pv.amount >= ?', 'pv.amount <= ?');
    params.push(min, max);
  }
  for (const option of query.option) {
    conditions.push('EXISTS (SELECT 1 FROM json_each(pv.options) o WHERE o.key = ? AND o.value = ?)');
    params.push(option.name, option.value);
  }
  const variants = `EXISTS (SELECT 1 FROM (
      SELECT v.value -> '$.prices' ->> ? AS amount, v.value -> '$.options' AS options
      FROM storefront_documents d CROSS JOIN json_each(d.document, '$.variants') v
      WHERE d.product_id = e.product_id
    ) pv WHERE ${conditions.join(' AND ')})`;
  if (query.option.length > 0) return { sql: variants, params };
  // With the entry already overlapping the range: its cheapest or dearest variant inside the range is a match.
  return { sql: `(e.min_price >= ? OR e.max_price <= ? OR ${variants})`, params: [min, max, ...params] };
}

const SEARCH_HITS = `(
    SELECT product_id, MIN(rank) AS rank FROM product_search
    WHERE product_search MATCH ? AND rank MATCH 'bm25(0.0, 0.0, 10.0, 1.0)'
      AND instr(?, ',' || locale || ',') > 0
    GROUP BY product_id
  ) hit`;

export function buildListingQuery(query: ListProductsQuery, store: StoreContext): Fragment {
  const sort = SORTS[sortOf(query)];
  const [walked, ...others] = listsOf(query);
  const lane = laneOf(walked as List, store);
  const from: Fragment[] = [];
  const where: Fragment[] = [];

  if (query.q) {
    // Title matches weigh ten times description matches; text in any of the region's locales counts. bm25()
    // cannot be aggregated directly, but FTS5's rank column, configured to the same bm25, can.
    from.push(
      { sql: SEARCH_HITS, params: [toFtsQuery(query.q), localeChainParam(store.localeChain)] },
      {
        sql: `CROSS JOIN storefront_entries e ON e.lane = ${lane.sql} AND e.product_id = hit.product_id`,
        params: lane.params,
      },
    );
  } else {
    // The sort's index, named: left to itself, SQLite may pick another index that matches a filter (price_max
    // and the price index) and then sort everything that matched, which grows with the catalog.
    from.push({ sql: `storefront_entries e INDEXED BY ${sort.index}`, params: [] });
    where.push({ sql: `e.lane = ${lane.sql}`, params: lane.params });
  }

  for (const list of others) {
    const other = laneOf(list, store);
    where.push({
      sql: `EXISTS (SELECT 1 FROM storefront_entries m WHERE m.lane = ${other.sql} AND m.product_id = e.product_id)`,
      params: other.params,
    });
  }
  // A product has a variant priced at or above a minimum exactly when its highest price is; likewise below.
  if (query.price_min !== undefined) where.push({ sql: 'e.max_price >= ?', params: [query.price_min] });
  if (query.price_max !== undefined) where.push({ sql: 'e.min_price <= ?', params: [query.price_max] });
  const variants = variantCondition(query, store.region.currencyCode);
  if (variants) where.push(variants);
  if (query.cursor) {
    const after = sort.direction === 'ASC' ? '>' : '<';
    where.push({
      sql: `(${sort.column}, e.product_id) ${after} (?, ?)`,
      params: decodeCursor(query.cursor, sortOf(query), sort.shape),
    });
  }

  const fragments = [...from, ...where];
  const sql = `SELECT e.product_id AS id, e.created_at, e.min_price, e.title, ${query.q ? 'hit.rank' : '0'} AS rank
    FROM ${from.map((f) => f.sql).join('\n    ')}
    ${where.length > 0 ? `WHERE ${where.map((w) => w.sql).join(' AND ')}` : ''}
    ORDER BY ${sort.column} ${sort.direction}, e.product_id ${sort.direction} LIMIT ?`;
  return { sql, params: [...fragments.flatMap((f) => f.params), query.limit + 1] };
}
