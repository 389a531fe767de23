/**
 * The storefront listing's walks of the full-text index (store-listing.ts builds the rest, by title
 * store-title-index.ts): the index (src/db/fts.ts) finds the products sold in the region, listed in the lists
 * asked for, with the option values asked for, whose text matches. Region, lists and option values are words of
 * the index row, so FTS5 filters them without reading a row.
 * - By relevance, the matches come in two tiers walked in the index's order (latest listed first), each stopping
 *   after `limit + 1` rows that pass the other filters, the second only if the first falls short: a page reads
 *   about four rows per product it shows, at any depth and any catalog size.
 * - By price or date, an ordered copy of the index is walked the same way, in that order; so it is for a category
 *   and a collection, or option values, without a search (store-listing.ts), with no text. By title,
 *   store-title-index.ts walks the title-ordered copy with the FTS5 query built here (`searchQuery`) and the page
 *   of an ordered copy (`keyOrderedPage`).
 */
import { BY_PRICE, optionWordSql, PAIR_BITS, type SearchOrder } from '../../db/fts';
import { priceBoundTerms } from '../../db/price-words';
import { decodeCursor } from '../../lib/pagination';
import type { StoreContext } from '../../lib/store-context';
import { toFtsQuery } from './search-query';
import {
  type Fragment,
  joined,
  LIST_ID,
  type List,
  laneOf,
  NOTHING_LISTED,
  optionsJson,
  SELECTED,
} from './store-query-parts';
import type { ListProductsQuery, ProductSort } from './store-schemas';
import { lowestReaching } from './store-spread-levels';

/** A relevance cursor's key: the rank (tier and place in it), then the product id. */
export const RELEVANCE_SHAPE = ['number', 'text'] as const;

/**
 * A walk of the index sorted by price or date takes an ordered copy of it, where ties are in the order of
 * the (product, region) pair's number: its cursor holds the price or time and that number, which the query
 * selects as `rank`.
 */
const ORDERED_INDEX_SHAPE = ['integer', 'integer'] as const;

/**
 * Relevance tiers, best first, as FTS5 queries of the shopper's terms: every term in a title (in any of the
 * region's locales), then every term in the title or description but not all in a title. Within a tier, the
 * latest listed in the region first (storefront_search_rows numbers them). Each tier is a walk of the index in
 * rowid order that can stop early, which bm25 cannot: bm25 scores every match before it can return the best.
 */
const RELEVANCE_TIERS: [(terms: string) => string, (terms: string) => string] = [
  (terms) => `{title}: (${terms})`,
  (terms) => `({title description}: (${terms}) NOT {title}: (${terms}))`,
];
const ANY_TEXT = (terms: string) => `{title description}: (${terms})`;

/** A relevance rank is `tier * RANK_TIER` plus the row's place in its tier (rowids stay far below 2^48). */
const RANK_TIER = 2 ** 48;

/** A word no row's lists has (they are ids): searching for it matches nothing, answered from one lookup. */
const NO_LIST = 'none';

/** An FTS5 query, as an SQL string, that matches nothing: the query of a way not taken. */
const MATCH_NOTHING = `'{lists}: ${NO_LIST}'`;

/** The FTS5 term of one option value `f` of the bound JSON array (store-query-parts.ts, optionsJson). */
const OPTION_TERM = `'{lists}: "' || ${optionWordSql('(f.value ->> 0)', '(f.value ->> 1)')} || '"'`;

/**
 * The FTS5 query, built in SQL: the region, every list named and every option value asked for must be words of
 * the row's lists (ids without their `_`, as statements.ts writes them; ids are letters, digits and `_`, so they
 * need no escaping; a handle that names nothing matches no row; an option value's word is hex), so must the words
 * of the price bounds (src/db/price-words.ts: only products within them), and `text` if given.
 */
export function searchQuery(
  lists: List[],
  query: Pick<ListProductsQuery, 'option' | 'price_min' | 'price_max'>,
  store: StoreContext,
  text?: string,
): Fragment {
  const { option: options } = query;
  const named = lists.filter((list): list is Exclude<List, { kind: 'all' }> => list.kind !== 'all');
  const prices = priceBoundTerms(query.price_min, query.price_max);
  const sql = [
    `'{lists}: "' || replace(?, '_', '') || '"'`,
    ...named.map(
      (list) => `' AND {lists}: "' || replace(coalesce(${LIST_ID[list.kind]}, '${NO_LIST}'), '_', '') || '"'`,
    ),
    ...(options.length === 0
      ? []
      : [`' AND ' || (SELECT group_concat(${OPTION_TERM}, ' AND ') FROM json_each(?) f)`]),
    ...(prices === undefined ? [] : [`' AND ' || ?`]),
    ...(text === undefined ? [] : [`' AND ' || ?`]),
  ].join(' || ');
  return {
    sql,
    params: [
      store.region.id,
      ...named.map((l) => l.handle),
      ...(options.length === 0 ? [] : [optionsJson(options)]),
      ...(prices === undefined ? [] : [prices]),
      ...(text === undefined ? [] : [text]),
    ],
  };
}

/** The shopper's words as an FTS5 query of any of the text, or none without a search. */
export const textOf = (q: string | undefined) => (q === undefined ? undefined : ANY_TEXT(toFtsQuery(q)));

type SearchIndex = 'storefront_search' | SearchOrder['table'] | 'storefront_search_titles';

const matching = (search: Fragment, index: SearchIndex = 'storefront_search'): Fragment => ({
  sql: `${index} MATCH (${search.sql})`,
  params: search.params,
});

/** The full-text index and each match's entry in the walked lane. */
const SEARCH_FROM = (lane: Fragment): Fragment => ({
  sql: `storefront_search CROSS JOIN storefront_entries e
      ON e.lane = ${lane.sql} AND e.product_id = storefront_search.product_id`,
  params: lane.params,
});

/**
 * A search by relevance: each tier from the cursor's on, walked in rowid order, highest first, to `limit + 1`
 * rows, then their rows in rank order. The second tier is walked only when the first cannot fill the page: it
 * skips every match of the first tier, which is cheap in rows (FTS5 hands none of them on) but not in time when
 * most matches are in a title. A cursor's rank names its tier and the rowid to continue below.
 */
export function relevanceQuery(
  query: ListProductsQuery,
  store: StoreContext,
  lists: List[],
  filters: Fragment[],
) {
  const terms = toFtsQuery(query.q as string);
  const from = SEARCH_FROM(laneOf(lists[0] as List, store));
  const rows = query.limit + 1;
  /** Tier `t`'s walk, below `bound` if given; if `gate` is given, only when it holds (else it matches nothing). */
  const walk = (t: 0 | 1, bound?: Fragment, gate?: Fragment): Fragment => {
    const search = searchQuery(lists, query, store, RELEVANCE_TIERS[t](terms));
    const match = gate
      ? matching({
          sql: `CASE WHEN ${gate.sql} THEN ${search.sql} ELSE ${MATCH_NOTHING} END`,
          params: [...gate.params, ...search.params],
        })
      : matching(search);
    const where = joined([match, ...filters, ...(bound ? [bound] : [])], ' AND ');
    return {
      sql: `SELECT ${SELECTED(`${t * RANK_TIER} + ${RANK_TIER - 1} - storefront_search.rowid`)}
      FROM ${from.sql} WHERE ${where.sql} ORDER BY storefront_search.rowid DESC LIMIT ?`,
      params: [...from.params, ...where.params, rows],
    };
  };
  const rank = query.cursor ? (decodeCursor(query.cursor, 'relevance', RELEVANCE_SHAPE)[0] as number) : -1;
  const tier = Math.max(0, Math.floor(rank / RANK_TIER));
  const after: Fragment | undefined = query.cursor
    ? { sql: 'storefront_search.rowid < ?', params: [RANK_TIER - 1 - (rank - tier * RANK_TIER)] }
    : undefined;
  // One tier left: its walk is in rank order already.
  if (tier === 1) return walk(1, after);
  if (tier > 1) return NOTHING_LISTED;
  const first = walk(0, after);
  // Unless the first tier falls short, the second walk searches for a word no row has, which FTS5 answers from
  // one lookup (a condition beside the walk, even a constant one, does not keep SQLite from running it, and
  // the setup of the real query costs time in proportion to the matches).
  const second = walk(1, undefined, { sql: '(SELECT count(*) FROM first_tier) < ?', params: [rows] });
  return {
    sql: `WITH first_tier AS MATERIALIZED (${first.sql})
    SELECT * FROM first_tier UNION ALL SELECT * FROM (${second.sql})
    ORDER BY rank, id LIMIT ?`,
    params: [...first.params, ...second.params, rows],
  };
}

/** The bits of an ordered copy's rowid below its key. */
const PAIR_MASK = 2 ** PAIR_BITS - 1;

/** An ordered copy of the index, each row's pair by its number (the rowid's low bits), and its entry in the lane. */
const ORDERED_INDEX_FROM = (order: SearchOrder, lane: Fragment): Fragment => ({
  sql: `${order.table} ix CROSS JOIN storefront_search_rows k ON k.row = (ix.rowid & ${PAIR_MASK})
      CROSS JOIN storefront_entries e ON e.lane = ${lane.sql} AND e.product_id = k.product_id`,
  params: lane.params,
});

/**
 * A walk of the index sorted by price or date: the ordered copy walked in rowid order, from the cursor's place,
 * to `limit + 1` rows that pass the other filters. By price, cheapest first, the walk also starts no lower than
 * the lowest price that can reach a minimum price and ends at a maximum price's key; dearest first the other way
 * round. Rows of one exact key come in the order of their pair's number, the sort's tie-break. Rows sharing an
 * inexact key (prices from 2^31 minor units, and every date key, which stands for about a second) come in the
 * order of their numbers, not their values, so the rest of the last walked row's key is read too (a FTS5 query
 * that matches nothing unless that key is inexact) and the rows sorted by value: exact order, and the page still
 * read in proportion to itself and to the products sharing its last key.
 */
export function orderedIndexQuery(
  query: ListProductsQuery,
  store: StoreContext,
  lists: List[],
  filters: Fragment[],
  sort: ProductSort,
  direction: 'ASC' | 'DESC',
  order: SearchOrder,
): Fragment {
  const search = searchQuery(lists, query, store, textOf(query.q));
  const lane = laneOf(lists[0] as List, store);
  const from = ORDERED_INDEX_FROM(order, lane);
  const ascending = direction === 'ASC';
  // A key's rowids run from `key << PAIR_BITS` to just below `(key + 1) << PAIR_BITS`. The shifts are SQL's: a
  // rowid can be above 2^53, past what a JavaScript number holds exactly.
  const keyStart = (key: number): Fragment => ({ sql: `(? << ${PAIR_BITS})`, params: [key] });
  const below: Fragment[] = [];
  const above: Fragment[] = [];
  if (order === BY_PRICE && query.price_max !== undefined)
    below.push(keyStart(order.key(query.price_max) + 1));
  // With a minimum price, no match is priced lower than the minimum less the width of the lane's widest spread
  // level (store-spread-levels.ts): the walk starts there cheapest first, and stops there dearest first.
  const lowest =
    order === BY_PRICE && query.price_min !== undefined ? lowestReaching(lane, query.price_min) : undefined;
  const reaching: Fragment | undefined = lowest && {
    sql: `reaching AS MATERIALIZED (SELECT ${order.keySql('price')} AS key FROM (SELECT ${lowest.sql} AS price)),`,
    params: lowest.params,
  };
  if (reaching) above.push({ sql: `((SELECT key FROM reaching) << ${PAIR_BITS}) - 1`, params: [] });
  const where = [...filters];
  if (query.cursor) {
    const [value, row] = decodeCursor(query.cursor, sort, ORDERED_INDEX_SHAPE);
    const key = order.key(value);
    // Past the cursor's own rowid when its key is exact; else from its key's first or last, as that key's
    // rows are not in the sort's order.
    // A forged number past PAIR_BITS would reach into the key's bits; the filter below keeps the page exact.
    const number = Math.min(Math.max(row, 0), PAIR_MASK);
    const place: Fragment | undefined =
      key < order.exactBelow ? { sql: `((? << ${PAIR_BITS}) | ?)`, params: [key, number] } : undefined;
    if (ascending) above.push(place ?? { sql: `(? << ${PAIR_BITS}) - 1`, params: [key] });
    else below.push(place ?? keyStart(key + 1));
    where.push({ sql: `(e.${order.field}, k.row) ${ascending ? '>' : '<'} (?, ?)`, params: [value, row] });
  }
  // Of two bounds on one side (a price's and a cursor's), the tighter: one constraint for FTS5 to seek to.
  const tightest = (bounds: Fragment[], pick: 'min' | 'max'): Fragment =>
    bounds.length === 1
      ? (bounds[0] as Fragment)
      : { sql: `${pick}(${bounds.map((b) => b.sql).join(', ')})`, params: bounds.flatMap((b) => b.params) };
  const seek: Fragment[] = [];
  if (above.length > 0) {
    const most = tightest(above, 'max');
    seek.push({ sql: `ix.rowid > ${most.sql}`, params: most.params });
  }
  if (below.length > 0) {
    const least = tightest(below, 'min');
    seek.push({ sql: `ix.rowid < ${least.sql}`, params: least.params });
  }
  return keyOrderedPage({
    prelude: reaching,
    table: order.table,
    from,
    search,
    where,
    seek,
    direction,
    rows: query.limit + 1,
    exactBelow: order.exactBelow,
    rank: 'k.row',
    sortedBy: `${order.field} ${direction}, rank ${direction}`,
  });
}

/** How a page of an ordered copy `ix` of the index is walked (keyOrderedPage). */
type KeyOrderedWalk = {
  /** CTEs the walk's bounds read, each followed by a comma. */
  prelude?: Fragment;
  table: Exclude<SearchIndex, 'storefront_search'>;
  /** The copy `ix` joined to each match's entry `e` in the lane the page is sorted by. */
  from: Fragment;
  /** The FTS5 query. */
  search: Fragment;
  /** Conditions on the entry (the other filters, the cursor's). */
  where: Fragment[];
  /** Bounds on `ix.rowid`. */
  seek: Fragment[];
  direction: 'ASC' | 'DESC';
  rows: number;
  /** Keys below this stand for one value, so their rows are in the sort's order already: 0 where none does. */
  exactBelow: number;
  /** The SQL of each row's `rank`. */
  rank: string;
  /** The page's ORDER BY, of the listing row's columns. */
  sortedBy: string;
};

/**
 * A page of an ordered copy of the index: the copy walked in rowid order, to `rows` rows that pass the filters.
 * Rows sharing an inexact key (a key's high bits of the rowid) come in the order of their low bits, not their
 * values, so the rest of the last walked row's key is read too (a FTS5 query that matches nothing unless that key
 * is inexact) and the rows sorted by value: exact order, and the page still read in proportion to itself and to
 * the products sharing its last key.
 */
export function keyOrderedPage(walk: KeyOrderedWalk): Fragment {
  const { prelude, table, from, search, where, seek, direction, rows, exactBelow, rank, sortedBy } = walk;
  const ascending = direction === 'ASC';
  const walked = joined([matching(search, table), ...where, ...seek], ' AND ');
  // The rest of the key of the last row walked is read when that key is inexact: a tail whose FTS5 query costs
  // time in proportion to the shopper's last word's matches even when it hands on no row. Where every key is
  // inexact (dates, titles), the walk takes one row past the page first, and the tail runs only when the last two
  // rows walked share a key (on a last page, whose walk ends before the extra row, the tail then finds nothing).
  // `max(place)` over the walk is one row read (SQLite's min/max optimization); a count would read them all.
  const edge = `(SELECT place FROM edge)`;
  const last = ascending ? 'max' : 'min';
  const peeks = exactBelow === 0;
  const beforeEdge = `(SELECT ${last}(place) FROM walked WHERE place ${ascending ? '<' : '>'} ${edge})`;
  const gate = peeks
    ? `${edge} >> ${PAIR_BITS} = ${beforeEdge} >> ${PAIR_BITS}`
    : `${edge} >> ${PAIR_BITS} >= ${exactBelow}`;
  const tailSearch: Fragment = {
    sql: `CASE WHEN ${gate} THEN ${search.sql} ELSE ${MATCH_NOTHING} END`,
    params: search.params,
  };
  const rest = ascending
    ? `ix.rowid > ${edge} AND ix.rowid < ((${edge} >> ${PAIR_BITS}) + 1) << ${PAIR_BITS}`
    : `ix.rowid < ${edge} AND ix.rowid > ((${edge} >> ${PAIR_BITS}) << ${PAIR_BITS}) - 1`;
  const tail = joined([matching(tailSearch, table), ...where, { sql: rest, params: [] }], ' AND ');
  return {
    sql: `WITH ${prelude?.sql ?? ''} walked AS MATERIALIZED (
      SELECT ${SELECTED(rank)}, ix.rowid AS place FROM ${from.sql} WHERE ${walked.sql}
      ORDER BY ix.rowid ${direction} LIMIT ?
    ), edge AS MATERIALIZED (SELECT ${last}(place) AS place FROM walked)
    SELECT id, created_at, min_price, title, rank FROM walked
    UNION ALL SELECT ${SELECTED(rank)} FROM ${from.sql} WHERE ${tail.sql}
    ORDER BY ${sortedBy} LIMIT ?`,
    params: [
      ...(prelude?.params ?? []),
      ...from.params,
      ...walked.params,
      peeks ? rows + 1 : rows,
      ...from.params,
      ...tail.params,
      rows,
    ],
  };
}
