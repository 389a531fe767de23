/**
 * A listing newest first or by title with a price bound, of one lane (store-listing.ts builds the rest). The lane
 * is walked in the sort's order and each product's prices checked, which costs the page divided by the share of
 * the lane within the bounds: where a fixed number of products reach them ("from 1,000 €" in a catalog of
 * shirts), the walk grows with the catalog, to the whole lane on the last page. So the page takes the first of
 * three ways that fits (store-lane-head.ts): the lane's head; else the products within the bounds, found in the
 * price index, counted and, when few, read and sorted; else the rest of the lane.
 *
 * The price index holds them in one range, read upwards: those whose cheapest price is at most a maximum, and from
 * a minimum, those whose dearest reaches it, whose cheapest lies at most the width of the lane's widest spread
 * level below it (store-price-floor.ts). So from a minimum the read passes over the products in that width priced
 * wholly below it, as many as the catalog prices there, and one product of a wide spread (a gift card from 10 to
 * 2,000 €) widens it for the whole lane: the count reads at most WINDOW_ROWS rows, and past them the walk goes on.
 * With both bounds inside a product's own range, the count is of a superset (the document settles whether a
 * variant lies within the range); the sort applies every filter.
 */
import { headFirstQuery, type LaneOrder, orderBy, pastCursor } from './store-lane-head';
import { lowestReaching } from './store-price-floor';
import { type Fragment, joined, SELECTED } from './store-query-parts';

/**
 * The most rows of the price index the count reads: the matches, and the products passed over below a minimum.
 * The sort reads them again, about two rows each with their entries; twice the most matches it takes leaves room
 * for as many passed over.
 */
const WINDOW_ROWS = 1_000;

/** The price bounds asked for, at least one. */
export type PriceBounds = { min: number | undefined; max: number | undefined };

/**
 * The page of `lane` in `order` with `bounds`; `filters` hold every condition (the bounds' own checks among
 * them, and the document's where both lie inside a product's range) but the cursor.
 */
export function priceBoundQuery(
  lane: Fragment,
  bounds: PriceBounds,
  order: LaneOrder,
  filters: Fragment[],
  rows: number,
): Fragment {
  /**
   * The range of the price index that holds the products within the bounds: in the lane, where `gate` holds (else
   * no lane, and nothing is read), from the lowest price that can reach the minimum and to the maximum, if given.
   */
  const range = (gate: string): Fragment[] => {
    const gated: Fragment = { sql: `CASE WHEN ${gate} THEN ${lane.sql} END`, params: lane.params };
    const lowest = bounds.min === undefined ? undefined : lowestReaching(gated, bounds.min);
    return [
      { sql: `e.lane = ${gated.sql}`, params: gated.params },
      ...(lowest ? [{ sql: `e.min_price >= ${lowest.sql}`, params: lowest.params }] : []),
      ...(bounds.max === undefined ? [] : [{ sql: 'e.min_price <= ?', params: [bounds.max] }]),
    ];
  };
  const byPrice = (conditions: Fragment[]): Fragment => {
    const where = joined(conditions, ' AND ');
    return {
      sql: `FROM storefront_entries e INDEXED BY storefront_entries_price_idx WHERE ${where.sql}`,
      params: where.params,
    };
  };
  // A row of the range is a match if it reaches the minimum (every row is within a maximum).
  const hit: Fragment =
    bounds.min === undefined ? { sql: '1', params: [] } : { sql: 'e.max_price >= ?', params: [bounds.min] };
  return headFirstQuery({
    lane,
    order,
    filters,
    rows,
    matches: (gate) => {
      const from = byPrice(range(gate));
      return { sql: `SELECT ${hit.sql} AS hit ${from.sql}`, params: [...hit.params, ...from.params] };
    },
    countedRows: WINDOW_ROWS,
    sorted: (gate) => {
      const from = byPrice([...range(gate), ...filters, ...pastCursor(order)]);
      return {
        sql: `SELECT ${SELECTED('0')} ${from.sql} ${orderBy(order)} LIMIT ?`,
        params: [...from.params, rows],
      };
    },
  });
}
