/**
 * What the storefront listing's queries (store-listing.ts, store-search.ts, store-title-index.ts,
 * store-price-floor.ts) are built of: SQL fragments with their bound values, the lists a query
 * can name and their lanes, and the columns every listing query selects.
 */
import type { StoreContext } from '../../lib/store-context';
import type { OptionValue } from './store-schemas';

/** A row of a listing query: a product's id and every sort key a cursor may hold. */
export type ListingRow = { id: string; created_at: number; min_price: number; title: string; rank: number };

/** SQL text and the values its placeholders take, in order. */
export type Fragment = { sql: string; params: unknown[] };

export const joined = (fragments: Fragment[], separator: string): Fragment => ({
  sql: fragments.map((f) => f.sql).join(separator),
  params: fragments.flatMap((f) => f.params),
});

/** The columns of a ListingRow, from the entry `e`, with `rank` as given. */
export const SELECTED = (rank: string) =>
  `e.product_id AS id, e.created_at, e.min_price, e.title, ${rank} AS rank`;

/** A listing query that lists nothing and reads no row. */
export const NOTHING_LISTED: Fragment = {
  sql: `SELECT ${SELECTED('0')} FROM storefront_entries e WHERE false`,
  params: [],
};

/** The whole catalog, or a category (with its subcategories) or collection by handle. */
export type List = { kind: 'all' } | { kind: 'category' | 'collection'; handle: string };

/** The id of a list, in SQL, as lanes and full-text rows name it (a handle that names nothing gives NULL). */
export const LIST_ID: Record<List['kind'], string> = {
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

/** Option values as one bound value, a JSON array of [name, value], read in SQL with json_each. */
export const optionsJson = (options: OptionValue[]): string =>
  JSON.stringify(options.map((option) => [option.name, option.value]));
