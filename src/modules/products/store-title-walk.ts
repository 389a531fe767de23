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
 * Without, a page takes the first of three ways that fits (store-lane-head.ts): the lane's head, each product
 * checked (the second list's primary key, the price bounds, for option values the document's text and then its
 * variants); else the matches counted in the index (lists and option values are words of its rows), and read and
 * sorted when few; else the rest of the lane. The count is of the words only: it leaves out the cursor, the price
 * bounds and whether one variant has every value, so filters whose words are common but that nothing satisfies
 * together (a size with a price range no variant of that size reaches) still walk the rest of the lane, as before
 * the head.
 */
import type { StoreContext } from '../../lib/store-context';
import { type Gate, headFirstQuery, type LaneOrder, orderBy, pastCursor } from './store-lane-head';
import { type Fragment, joined, type List, laneOf, SELECTED } from './store-query-parts';
import type { ListProductsQuery } from './store-schemas';
import { MATCH_NOTHING, matching, SEARCH_FROM, searchQuery, textOf } from './store-search';

/** The title sort's direction and the cursor's title and product id, if any. */
type TitleSort = Pick<LaneOrder, 'direction' | 'cursor'>;

/** Every match of `search` in `lane` that passes `filters`, sorted by title, to `rows`. */
function sortedMatches(
  lane: Fragment,
  search: Fragment,
  filters: Fragment[],
  order: LaneOrder,
  rows: number,
) {
  const from = SEARCH_FROM(lane);
  const where = joined([matching(search), ...filters, ...pastCursor(order)], ' AND ');
  return {
    sql: `SELECT ${SELECTED('0')} FROM ${from.sql} WHERE ${where.sql} ${orderBy(order)} LIMIT ?`,
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
  const order: LaneOrder = { column: 'e.title', index: 'storefront_entries_title_idx', ...sort };
  if (query.q !== undefined) return sortedMatches(lane, search, filters, order, rows);
  /** The shopper's FTS5 query where `gate` holds, else one that matches nothing. */
  const gated = (gate: Gate): Fragment => ({
    sql: `CASE WHEN ${gate} THEN (SELECT q FROM terms) ELSE ${MATCH_NOTHING} END`,
    params: [],
  });
  return headFirstQuery({
    lane,
    order,
    filters,
    rows,
    prelude: { sql: `terms AS MATERIALIZED (SELECT ${search.sql} AS q)`, params: search.params },
    // Every row FTS5 hands on is a match: the count reads one more than the most the sort takes.
    matches: (gate) => ({
      sql: `SELECT 1 AS hit FROM storefront_search WHERE storefront_search MATCH ${gated(gate).sql}`,
      params: [],
    }),
    sorted: (gate) => sortedMatches(lane, gated(gate), filters, order, rows),
  });
}
