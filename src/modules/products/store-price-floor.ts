/**
 * A listing sorted by price with a minimum price that walks a lane (store-listing.ts builds the rest; with a
 * search, two lists or option values it walks the price-ordered copy of the full-text index instead). A product
 * matches the minimum when its highest price reaches it, but the walk is in the order of the lowest price: walked
 * as one lane, the products priced wholly below the minimum would be read and passed over, cheapest first before
 * any match, dearest first after the last product whose lowest price reaches it, as many as the catalog holds.
 *
 * Instead each spread level (storefront_entries.spread_level: `max_price - min_price < 2^level`) is walked on its
 * own, and only from the minimum less the level's width: below that no product of the level reaches it. SQLite
 * merges the walks of a compound SELECT with an ORDER BY, each in its index's order, pulling rows only as the page
 * needs them, so the page stops after `limit + 1` rows.
 *
 * What a page reads: the page; two rows per level up to the lane's widest (its lane, and the row that ends its
 * walk) and one above; and in each level's window below the minimum, the products priced wholly below it. A
 * product of a level spreads over at least half of the level's window, so where a level's products are priced
 * evenly, at least one in two of those in its window reaches the minimum.
 */
import { SPREAD_LEVELS } from '../../db/schema/storefront';
import { type Fragment, joined, SELECTED } from './store-query-parts';
import { widestLevel } from './store-spread-levels';

/** The width of a spread level: every spread of the level is below it; the last level has none. */
const widthOf = (level: number): number | undefined => (level < SPREAD_LEVELS - 1 ? 2 ** level : undefined);

/**
 * The page of `lane` in price order with `minimum`, after `cursor` (its lowest price and product id) if given;
 * `filters` hold every other condition (the minimum's own among them, and a maximum price's).
 */
export function priceFloorQuery(
  lane: Fragment,
  minimum: number,
  cursor: readonly [number, string] | undefined,
  filters: Fragment[],
  direction: 'ASC' | 'DESC',
  rows: number,
): Fragment {
  // Each walk names the minimum and the cursor by number (?1, ?2, ?3): written once each, forty-one walks stay
  // within D1's hundred bound values. The CTE selects them first in the text only so that they take those
  // numbers before the other placeholders; its columns of them are not read. A level above the lane's widest is
  // not walked: its lane is NULL, which SQLite answers without a seek (one row read instead of two).
  const walks = Array.from({ length: SPREAD_LEVELS }, (_, level) => {
    const width = widthOf(level);
    const bounds: string[] = [];
    // Cheapest first, the walk starts at the later of the window's start and the cursor: the one bound SQLite
    // seeks to (given two, it seeks to one and reads past rows the other rules out).
    const cursorFirst = cursor !== undefined && (width === undefined || cursor[0] > minimum - width);
    if (width !== undefined && (direction === 'DESC' || !cursorFirst))
      bounds.push(`e.min_price > ?1 - ${width}`);
    if (cursor !== undefined && (direction === 'DESC' || cursorFirst)) {
      bounds.push(`(e.min_price, e.product_id) ${direction === 'ASC' ? '>' : '<'} (?2, ?3)`);
    }
    const lane = `(SELECT CASE WHEN widest >= ${level} THEN lane END FROM floor)`;
    return {
      sql: `SELECT e.product_id, e.created_at, e.min_price, e.max_price, e.title
      FROM storefront_entries e INDEXED BY storefront_entries_spread_idx
      WHERE ${[`e.lane = ${lane}`, `e.spread_level = ${level}`, ...bounds].join(' AND ')}`,
      params: [],
    };
  });
  const order = (column: string) => `ORDER BY min_price ${direction}, ${column} ${direction}`;
  const merged = mergedInOrder(walks, order('product_id'));
  const where = joined(filters, ' AND ');
  return {
    sql: `WITH floor AS MATERIALIZED (
      SELECT ?1 AS minimum, ?2 AS after_price, ?3 AS after_id, walked.lane, ${widestLevel('walked.lane')} AS widest
      FROM (SELECT ${lane.sql} AS lane) walked
    )
    SELECT ${SELECTED('0')} FROM (${merged.sql} ${order('product_id')}) e
    WHERE ${where.sql}
    ${order('id')} LIMIT ?`,
    params: [minimum, cursor?.[0] ?? null, cursor?.[1] ?? null, ...lane.params, ...where.params, rows],
  };
}

/**
 * D1 refuses a compound SELECT of more than five terms (measured on workerd). Nested compounds, each ordered,
 * pass, and SQLite flattens them back into one merge of every term in its index's order, with no sort.
 */
const COMPOUND_TERMS = 5;

/** `parts` as one compound SELECT, without its final ORDER BY (`order`, which every nested one takes). */
function mergedInOrder(parts: Fragment[], order: string): Fragment {
  if (parts.length <= COMPOUND_TERMS) return joined(parts, '\n    UNION ALL ');
  const size = Math.ceil(parts.length / COMPOUND_TERMS);
  const groups = Array.from({ length: Math.ceil(parts.length / size) }, (_, g) => {
    const group = mergedInOrder(parts.slice(g * size, (g + 1) * size), order);
    return { sql: `SELECT * FROM (${group.sql} ${order})`, params: group.params };
  });
  return mergedInOrder(groups, order);
}
