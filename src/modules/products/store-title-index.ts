/**
 * A listing by title that uses the full-text index: with a search, a category and a collection, or option values
 * (store-listing.ts builds the rest). It walks the title-ordered copy of the index (src/db/fts.ts), the rows of the
 * store's locale, in label order, as a walk by date takes the date-ordered copy: a page reads in proportion to
 * itself and to the entries that share its last label, at any catalog size and whatever share of it matches.
 * Labels are non-decreasing in (title, product id) order, so a cursor's place is the label of the last entry at or
 * before it in that order (one seek of the title index), and rows of one label are sorted by the query.
 */
import { LARGEST_KEY, LOCALE_BITS, PAIR_BITS, titleLaneWordSql } from '../../db/fts';
import type { StoreContext } from '../../lib/store-context';
import { type Fragment, type List, laneOf } from './store-query-parts';
import type { ListProductsQuery } from './store-schemas';
import { keyOrderedPage, searchQuery, textOf } from './store-search';

/**
 * The title-ordered copy, each row's pair by its number (the rowid's low bits, above the locale's), and its entry in
 * the whole-catalog lane `lane`.
 */
const TITLE_INDEX_FROM = (lane: Fragment): Fragment => ({
  sql: `storefront_search_titles ix
      CROSS JOIN storefront_search_rows k ON k.row = (ix.rowid & ${2 ** PAIR_BITS - 1}) >> ${LOCALE_BITS}
      CROSS JOIN storefront_entries e ON e.lane = ${lane.sql} AND e.product_id = k.product_id`,
  params: lane.params,
});

/**
 * The page of `lists` with the query's search and option values, by title; `filters` hold every other condition
 * (the second list's, the price bounds', the variants').
 */
export function titleIndexQuery(
  query: ListProductsQuery,
  store: StoreContext,
  lists: List[],
  filters: Fragment[],
  direction: 'ASC' | 'DESC',
  cursor: readonly [string, string] | undefined,
): Fragment {
  const ascending = direction === 'ASC';
  const whole = laneOf({ kind: 'all' }, store);
  const words = searchQuery(lists, query, store, textOf(query.q));
  // The rows of the store's locale: its whole-catalog lane's word (a lane that does not exist names none).
  const search: Fragment = {
    sql: `${words.sql} || ' AND {lists}: "' || ${titleLaneWordSql(`coalesce(${whole.sql}, 'none')`)} || '"'`,
    params: [...words.params, ...whole.params],
  };
  // The labels, the cursor's seek and the page's order all take the whole-catalog entry's title; a category's or a
  // collection's entry is checked for membership only. Their titles can differ while a region's locales are
  // rebuilt in steps (a collection's steps write its lanes' titles from the new locale chain before the region's
  // step reaches the product), and a page sorted by one title and walked by the other's labels would skip products.
  const listed = lists[0] as List;
  const inList = laneOf(listed, store);
  const where: Fragment[] = [
    ...(listed.kind === 'all'
      ? []
      : [
          {
            sql: `EXISTS (SELECT 1 FROM storefront_entries m WHERE m.lane = ${inList.sql} AND m.product_id = e.product_id)`,
            params: inList.params,
          },
        ]),
    ...filters,
  ];
  const seek: Fragment[] = [];
  let prelude: Fragment | undefined;
  if (cursor) {
    where.push({ sql: `(e.title, e.product_id) ${ascending ? '>' : '<'} (?, ?)`, params: [...cursor] });
    // The label of the last whole-catalog entry at or before the cursor in the walk's direction: every entry past
    // the cursor has that label or one further on. None: the walk starts at the lane's end.
    const side = ascending ? '<=' : '>=';
    const order = ascending ? 'DESC' : 'ASC';
    prelude = {
      sql: `start AS MATERIALIZED (SELECT coalesce((SELECT n.title_label FROM storefront_entries n
        WHERE n.lane = ${whole.sql} AND (n.title, n.product_id) ${side} (?, ?)
        ORDER BY n.title ${order}, n.product_id ${order} LIMIT 1), ${ascending ? 0 : LARGEST_KEY}) AS label),`,
      params: [...whole.params, ...cursor],
    };
    seek.push(
      ascending
        ? { sql: `ix.rowid >= (SELECT label FROM start) << ${PAIR_BITS}`, params: [] }
        : { sql: `ix.rowid < ((SELECT label FROM start) + 1) << ${PAIR_BITS}`, params: [] },
    );
  }
  return keyOrderedPage({
    prelude,
    table: 'storefront_search_titles',
    from: TITLE_INDEX_FROM(whole),
    search,
    where,
    seek,
    direction,
    rows: query.limit + 1,
    exactBelow: 0,
    rank: '0',
    sortedBy: `title ${direction}, id ${direction}`,
  });
}
