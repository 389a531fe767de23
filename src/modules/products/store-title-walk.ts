/**
 * A listing by title that has a search, a category and a collection, or option values (store-listing.ts builds
 * the rest). By date or price such a listing walks an ordered copy of the full-text index; by title there is no
 * such copy, and each of the two other ways costs what the other saves:
 * - reading every match and sorting them costs in proportion to the matches, which grow with the catalog where
 *   the search or the filters are common;
 * - walking the lane by title and checking each walked product costs in proportion to the page divided by the
 *   share of the lane that matches, which grows with the catalog where they are rare (a size that ten products
 *   have: every product of the lane is walked), or where the matches sit far along the titles from the cursor.
 *
 * So a page takes the first way that fits, all three in one statement (each given nothing to read unless it is
 * taken), one round trip:
 * 1. The head: the first HEAD_WALK products of the lane from the cursor, each checked; if `limit + 1` of them match,
 *    they are the page. Where the matches are common and spread along the titles, a page reads about what a walk
 *    of the lane reads.
 * 2. Else, with a search, every match is read and sorted, as before the head: a walk of the lane past the head
 *    would pass over every product between the cursor and the titles that have the shopper's word, however many.
 * 3. Else (lists or option values, which are words of the index rows) the matches are counted in the index, up to
 *    FEW_MATCHES + 1, one row each: up to FEW_MATCHES, they are read and sorted; more, and the lane is walked from
 *    the cursor, as before the head: filters like these seldom follow the titles.
 *
 * The head and the walk check a product against the index (its pair's number and one lookup) before its other
 * filters when there is a search (which nothing else can check) or option values (which the product's document
 * would check at a dozen rows).
 */
import type { StoreContext } from '../../lib/store-context';
import { type Fragment, joined, type List, laneOf, SELECTED } from './store-query-parts';
import type { ListProductsQuery } from './store-schemas';
import { matching, NO_LIST, SEARCH_FROM, searchQuery, textOf } from './store-search';

/**
 * The most matches a listing without a search reads and sorts. Past the head, the count costs up to FEW_MATCHES
 * + 1 rows; reading the matches, up to about fifteen rows each (the index row, its product, the entry and, with
 * option values, the document with its variants). Around 500 the two ways are even at 100,000 products, where a
 * walk to a page of 20 among FEW_MATCHES + 1 matches spread along the titles passes over about 4,000 products.
 */
export const FEW_MATCHES = 500;

/**
 * How many products of the lane the head walks: enough to fill a page of 20 where a tenth of the lane matches,
 * and what a page costs where the matches are rarer, before its other ways (about two rows each).
 */
const HEAD_WALK = 200;

/** A word no row has: a MATCH given it reads nothing (one lookup). */
const NOTHING = `'{lists}: ${NO_LIST}'`;

/**
 * The page of `lists` with the query's search and option values, by title in `direction`, after `cursor` (a title
 * and a product id) if given; `filters` hold every other condition (the second list's, the price bounds', the
 * variants').
 */
export function titleWalkQuery(
  query: ListProductsQuery,
  store: StoreContext,
  lists: List[],
  filters: Fragment[],
  direction: 'ASC' | 'DESC',
  cursor: readonly [string, string] | undefined,
): Fragment {
  const searched = query.q !== undefined;
  const search = searchQuery(lists, query.option, store, textOf(query.q));
  const lane = laneOf(lists[0] as List, store);
  const after: Fragment[] = cursor
    ? [{ sql: `(e.title, e.product_id) ${direction === 'ASC' ? '>' : '<'} (?, ?)`, params: [...cursor] }]
    : [];
  const order = `ORDER BY e.title ${direction}, e.product_id ${direction}`;
  const rows = query.limit + 1;
  // The FTS5 query once, as a CTE every MATCH reads: a copy of its values for each would crowd D1's hundred.
  const terms = '(SELECT q FROM terms)';
  const way = '(SELECT way FROM way)';
  // SQLite checks a row's subqueries in the order written: the index's check comes first. Without a search or
  // option values, the second list's own check (a primary-key lookup) costs less than the index's.
  const inIndex: Fragment[] =
    searched || query.option.length > 0
      ? [
          {
            sql: `EXISTS (SELECT 1 FROM storefront_search_rows k
              CROSS JOIN storefront_search ON storefront_search.rowid = k.row
              WHERE k.product_id = e.product_id AND k.region_id = ? AND storefront_search MATCH ${terms})`,
            params: [store.region.id],
          },
        ]
      : [];
  const checked = joined([...inIndex, ...filters, ...after], ' AND ');
  // The head's walk selects whole entries (not only the index's columns): the filters read their prices, and a
  // join back to the entry would read two rows for each product walked instead of one.
  const start = joined([{ sql: `e.lane = ${lane.sql}`, params: lane.params }, ...after], ' AND ');
  const head: Fragment = {
    sql: `SELECT ${SELECTED('0')} FROM (
        SELECT * FROM storefront_entries e INDEXED BY storefront_entries_title_idx
        WHERE ${start.sql} ${order} LIMIT ${HEAD_WALK}
      ) e WHERE ${checked.sql} ${order} LIMIT ?`,
    params: [...start.params, ...checked.params, rows],
  };
  const sorted = joined(
    [
      matching({ sql: `CASE WHEN ${way} = 'sort' THEN ${terms} ELSE ${NOTHING} END`, params: [] }),
      ...filters,
      ...after,
    ],
    ' AND ',
  );
  const from = SEARCH_FROM(lane);
  const walk = joined(
    [{ sql: `e.lane = CASE WHEN ${way} = 'walk' THEN ${lane.sql} END`, params: lane.params }, checked],
    ' AND ',
  );
  // The count is read only when the head falls short, and only without a search.
  const counted = searched
    ? ''
    : `counted AS MATERIALIZED (SELECT count(*) AS matches FROM (
        SELECT rowid FROM storefront_search
        WHERE storefront_search MATCH CASE WHEN (SELECT yes FROM full) THEN ${NOTHING} ELSE ${terms} END
        LIMIT ${FEW_MATCHES + 1})),`;
  const past = searched
    ? `'sort'`
    : `CASE WHEN (SELECT matches FROM counted) <= ${FEW_MATCHES} THEN 'sort' ELSE 'walk' END`;
  const walked: Fragment = searched
    ? { sql: '', params: [] }
    : {
        sql: `UNION ALL
    SELECT * FROM (SELECT ${SELECTED('0')} FROM storefront_entries e INDEXED BY storefront_entries_title_idx
      WHERE ${walk.sql} ${order} LIMIT ?)`,
        params: [...walk.params, rows],
      };
  return {
    sql: `WITH terms AS MATERIALIZED (SELECT ${search.sql} AS q),
      head AS MATERIALIZED (${head.sql}),
      full AS MATERIALIZED (SELECT count(*) = ? AS yes FROM head),
      ${counted}
      way AS MATERIALIZED (SELECT CASE WHEN (SELECT yes FROM full) THEN 'head' ELSE ${past} END AS way)
    SELECT * FROM head WHERE ${way} = 'head'
    UNION ALL
    SELECT * FROM (SELECT ${SELECTED('0')} FROM ${from.sql} WHERE ${sorted.sql} ${order} LIMIT ?)
    ${walked.sql}
    ORDER BY title ${direction}, id ${direction} LIMIT ?`,
    params: [
      ...search.params,
      ...head.params,
      rows,
      ...from.params,
      ...sorted.params,
      rows,
      ...walked.params,
      rows,
    ],
  };
}
