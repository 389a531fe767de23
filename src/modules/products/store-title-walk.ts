/**
 * A listing by title that uses the full-text index: with a search, a category and a collection, or option values
 * (store-listing.ts builds the rest). By date or price such a listing walks an ordered copy of the index; by title
 * there is no such copy (docs/ARCHITECTURE.md, Decisions), and of the two other ways each costs what the other
 * saves:
 * - reading every match and sorting them costs in proportion to the matches, which grow with the catalog where
 *   the search or the filters are common;
 * - walking the lane by title and checking each walked product costs in proportion to the page divided by the
 *   share of the lane that matches, which grows with the catalog where they are rare (a size that ten products
 *   have: every product of the lane is walked, and its document read).
 *
 * With a search every match is read and sorted: the shopper's words follow the titles ("Linen shirt"), so a walk
 * from the cursor passes over every product before the titles that hold them, and a product cannot be checked
 * against the words quickly: FTS5 gathers the last word's matches (it is a prefix) for each check, about 2 ms at
 * 40,000 products for a word in every product.
 *
 * Without, a page takes the first of three ways that fits, all in one statement (one round trip; the sort and the
 * walk are each given nothing to read unless taken):
 * 1. The head: the first HEAD_WALK products of the lane from the cursor, each checked (the second list's primary
 *    key, the price bounds, the document for option values); if `limit + 1` of them match, they are the page.
 *    Where the matches are common near the cursor, a page reads what a lane walk reads and 50-70 rows more (the
 *    head's rows are kept, counted and merged).
 * 2. Else the matches are counted in the index (lists and option values are words of its rows), up to
 *    FEW_MATCHES + 1, one row each; up to FEW_MATCHES they are read and sorted.
 * 3. Else the lane walk goes on from the head's last product: it costs what the walk cost before the head, plus
 *    the count and the seek to that product (HEAD_WALK rows of the title index).
 * Where the lane ends inside the head (a last page, a small list) the head holds every match, but the count and,
 * for few matches, the sort still run. And the count is of the words only: it leaves out the cursor, the price
 * bounds and whether one variant has every value, so filters whose words are common but that nothing satisfies
 * together (a size with a price range no variant of that size reaches) still walk the rest of the lane, as before
 * the head.
 */
import type { StoreContext } from '../../lib/store-context';
import { type Fragment, joined, type List, laneOf, SELECTED } from './store-query-parts';
import type { ListProductsQuery } from './store-schemas';
import { MATCH_NOTHING, matching, SEARCH_FROM, searchQuery, textOf } from './store-search';

/**
 * The most matches a listing without a search reads and sorts. Past the head, the count costs up to FEW_MATCHES
 * + 1 rows; reading the matches, up to about fifteen rows each with option values (the index row, its product,
 * the entry, and the document with its variants). Around 500 the two are even at 100,000 products, where a walk
 * to a page of 20 among FEW_MATCHES + 1 matches spread along the titles passes over about 4,000 products.
 */
export const FEW_MATCHES = 500;

/**
 * How many products of the lane the head walks: enough to fill a page of 20 where more than a tenth of the lane
 * matches. Where fewer do, the head costs a row per product (the second list's check finds none for the others),
 * or, with option values, a dozen (the product's document and its variants).
 */
const HEAD_WALK = 200;

type TitleSort = {
  direction: 'ASC' | 'DESC';
  /** The cursor's title and product id, if any. */
  cursor: readonly [string, string] | undefined;
};

/** The comparison of an entry's (title, product id) with a key it must be past, in the sort's direction. */
const pastOf = ({ direction }: TitleSort) => `(e.title, e.product_id) ${direction === 'ASC' ? '>' : '<'}`;

/** What a product must be past to be on the page: the cursor's key, if any. */
const pastCursor = (sort: TitleSort): Fragment[] =>
  sort.cursor ? [{ sql: `${pastOf(sort)} (?, ?)`, params: [...sort.cursor] }] : [];

/** Every match of `search` in `lane` that passes `filters`, sorted by title, to `rows`. */
function sortedMatches(lane: Fragment, search: Fragment, filters: Fragment[], sort: TitleSort, rows: number) {
  const from = SEARCH_FROM(lane);
  const where = joined([matching(search), ...filters, ...pastCursor(sort)], ' AND ');
  return {
    sql: `SELECT ${SELECTED('0')} FROM ${from.sql} WHERE ${where.sql}
      ORDER BY e.title ${sort.direction}, e.product_id ${sort.direction} LIMIT ?`,
    params: [...from.params, ...where.params, rows],
  };
}

/**
 * The page of `lists` with the query's search and option values, by title; `filters` hold every other condition
 * (the second list's, the price bounds', the variants').
 */
export function titleWalkQuery(
  query: ListProductsQuery,
  store: StoreContext,
  lists: List[],
  filters: Fragment[],
  sort: TitleSort,
): Fragment {
  const search = searchQuery(lists, query.option, store, textOf(query.q));
  const lane = laneOf(lists[0] as List, store);
  const rows = query.limit + 1;
  if (query.q !== undefined) return sortedMatches(lane, search, filters, sort, rows);

  const order = `ORDER BY e.title ${sort.direction}, e.product_id ${sort.direction}`;
  const way = '(SELECT way FROM way)';
  const fromCursor = joined(
    [{ sql: `e.lane = ${lane.sql}`, params: lane.params }, ...pastCursor(sort)],
    ' AND ',
  );
  // Never empty here (the second list's or the option values' check is among the filters); `true` keeps the
  // SQL whole regardless.
  const checked = joined([{ sql: 'true', params: [] }, ...filters], ' AND ');
  // The head's walk selects whole entries, as the filters read their prices: a join back to each would read two
  // rows for each product walked instead of one.
  const head: Fragment = {
    sql: `SELECT ${SELECTED('0')} FROM (
        SELECT * FROM storefront_entries e INDEXED BY storefront_entries_title_idx
        WHERE ${fromCursor.sql} ${order} LIMIT ${HEAD_WALK}
      ) e WHERE ${checked.sql} ${order} LIMIT ?`,
    params: [...fromCursor.params, ...checked.params, rows],
  };
  // The whole lane, given no lane (nothing to seek) unless the walk is the way.
  const walked: Fragment = {
    sql: `e.lane = CASE WHEN ${way} = 'walk' THEN ${lane.sql} END`,
    params: lane.params,
  };
  // The head's last product, where the walk goes on: none where the lane ends inside the head.
  const edgeFrom = joined([walked, ...pastCursor(sort)], ' AND ');
  const edge: Fragment = {
    sql: `SELECT e.title, e.product_id FROM storefront_entries e INDEXED BY storefront_entries_title_idx
      WHERE ${edgeFrom.sql} ${order} LIMIT 1 OFFSET ${HEAD_WALK - 1}`,
    params: edgeFrom.params,
  };
  // Past the edge, to what the head's matches leave of the page.
  const walk = joined(
    [
      walked,
      { sql: `${pastOf(sort)} ((SELECT title FROM edge), (SELECT product_id FROM edge))`, params: [] },
      ...filters,
    ],
    ' AND ',
  );
  const sorted = sortedMatches(
    lane,
    { sql: `CASE WHEN ${way} = 'sort' THEN (SELECT q FROM terms) ELSE ${MATCH_NOTHING} END`, params: [] },
    filters,
    sort,
    rows,
  );
  return {
    sql: `WITH terms AS MATERIALIZED (SELECT ${search.sql} AS q),
      head AS MATERIALIZED (${head.sql}),
      full AS MATERIALIZED (SELECT count(*) AS taken, count(*) = ? AS yes FROM head),
      counted AS MATERIALIZED (SELECT count(*) AS matches FROM (
        SELECT rowid FROM storefront_search
        WHERE storefront_search MATCH
          CASE WHEN (SELECT yes FROM full) THEN ${MATCH_NOTHING} ELSE (SELECT q FROM terms) END
        LIMIT ${FEW_MATCHES + 1})),
      way AS MATERIALIZED (SELECT CASE WHEN (SELECT yes FROM full) THEN 'head'
        WHEN (SELECT matches FROM counted) <= ${FEW_MATCHES} THEN 'sort' ELSE 'walk' END AS way),
      edge AS MATERIALIZED (${edge.sql})
    SELECT * FROM head WHERE ${way} <> 'sort'
    UNION ALL
    SELECT * FROM (${sorted.sql})
    UNION ALL
    SELECT * FROM (SELECT ${SELECTED('0')} FROM storefront_entries e INDEXED BY storefront_entries_title_idx
      WHERE ${walk.sql} ${order} LIMIT ? - (SELECT taken FROM full))
    ORDER BY title ${sort.direction}, id ${sort.direction} LIMIT ?`,
    params: [
      ...search.params,
      ...head.params,
      rows,
      ...edge.params,
      ...sorted.params,
      ...walk.params,
      rows,
      rows,
    ],
  };
}
