/**
 * A listing newest first or by title with a price bound, of one lane (store-listing.ts builds the rest). The lane
 * is walked in the sort's order and each product's prices checked, which costs the page divided by the share of
 * the lane within the bounds: where a fixed number of products reach them ("from 1,000 €" in a catalog of
 * shirts), the walk grows with the catalog, to the whole lane on the last page. So the page takes the first of
 * three ways that fits (store-lane-head.ts): the lane's head; else the products within the bounds, found in the
 * price index, counted and, when few, read and sorted; else the rest of the lane.
 *
 * The price index finds the products whose price range meets the bounds: from a maximum down, those whose
 * cheapest price is at most it; from a minimum up, those whose dearest reaches it, whose cheapest lies at most the
 * width of the lane's widest spread level below it (store-price-floor.ts). The read passes over the products in
 * that width priced wholly below the minimum. With both bounds inside a product's own range, the count is of a
 * superset (the document settles whether a variant lies within the range); the sort applies every filter.
 */

import { headFirstQuery, type LaneOrder, orderBy, pastCursor } from './store-lane-head';
import { lowestReaching } from './store-price-floor';
import { type Fragment, joined, SELECTED } from './store-query-parts';

/** The price bounds asked for (at least one): the minimum, and the checks that an entry's range meets them. */
export type PriceBounds = { min: number | undefined; checks: Fragment[] };

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
   * Where the price index is read: the lane, where `gate` holds (else no lane, and nothing is read), from the lowest
   * price that can reach the minimum, if there is one; a maximum is among the bounds' checks.
   */
  const seek = (gate: string): Fragment[] => {
    const gated: Fragment = { sql: `CASE WHEN ${gate} THEN ${lane.sql} END`, params: lane.params };
    const lowest = bounds.min === undefined ? undefined : lowestReaching(gated, bounds.min);
    return [
      { sql: `e.lane = ${gated.sql}`, params: gated.params },
      ...(lowest ? [{ sql: `e.min_price >= ${lowest.sql}`, params: lowest.params }] : []),
    ];
  };
  const byPrice = (conditions: Fragment[]): Fragment => {
    const where = joined(conditions, ' AND ');
    return {
      sql: `FROM storefront_entries e INDEXED BY storefront_entries_price_idx WHERE ${where.sql}`,
      params: where.params,
    };
  };
  return headFirstQuery({
    lane,
    order,
    filters,
    rows,
    matches: (gate) => {
      const from = byPrice([...seek(gate), ...bounds.checks]);
      return { sql: `SELECT 1 ${from.sql}`, params: from.params };
    },
    sorted: (gate) => {
      const from = byPrice([...seek(gate), ...filters, ...pastCursor(order)]);
      return {
        sql: `SELECT ${SELECTED('0')} ${from.sql} ${orderBy(order)} LIMIT ?`,
        params: [...from.params, rows],
      };
    },
  });
}
