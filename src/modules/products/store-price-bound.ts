/**
 * A listing newest first or by title with a price bound, of one lane (store-listing.ts builds the rest). The lane
 * is walked in the sort's order and each product's prices checked, which costs the page divided by the share of
 * the lane within the bounds: where a fixed number of products reach them ("from 1,000 €" in a catalog of
 * shirts), the walk grows with the catalog, to the whole lane on the last page. So the page takes the first of
 * three ways that fits (store-lane-head.ts): the lane's head; else the products within the bounds, found by the
 * entries' price indexes, counted and, when few, read and sorted; else the rest of the lane.
 *
 * Up to a maximum, they are one range of the price index: the products whose cheapest price is at most it. From a
 * minimum, they are those whose dearest price reaches it, which the spread index finds level by level
 * (store-price-floor.ts): in level L, from the minimum less 2^L, below which none of the level reaches it. The
 * levels are read one after another (a nested loop over the lane's levels, not a merge: the count and the sort
 * need no price order), so one product of a wide spread (a gift card from 10 to 2,000 €) widens only its own
 * level's window. Each window passes over the products of its level priced wholly below the minimum, as many as
 * the catalog prices there: the count reads at most WINDOW_ROWS rows, and past them the walk goes on. With both
 * bounds inside a product's own range, the count is of a superset (the document settles whether a variant lies
 * within the range); the sort applies every filter.
 */

import { SPREAD_LEVELS } from '../../db/schema/storefront';
import { headFirstQuery, type LaneOrder, orderBy, pastCursor } from './store-lane-head';
import { widestLevel } from './store-price-floor';
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
   * The entries that hold the products within the bounds, in the lane where `gate` holds (else no lane, and
   * nothing is read): up to a maximum, one range of the price index; from a minimum, each spread level of the lane
   * up to its widest from the minimum less the level's width (the last level has none), and to the maximum.
   */
  const within = (gate: string): Fragment => {
    const gated: Fragment = { sql: `CASE WHEN ${gate} THEN ${lane.sql} END`, params: lane.params };
    const max: Fragment[] =
      bounds.max === undefined ? [] : [{ sql: 'e.min_price <= ?', params: [bounds.max] }];
    if (bounds.min === undefined) {
      const where = joined([{ sql: `e.lane = ${gated.sql}`, params: gated.params }, ...max], ' AND ');
      return {
        sql: `storefront_entries e INDEXED BY storefront_entries_price_idx WHERE ${where.sql}`,
        params: where.params,
      };
    }
    const last = SPREAD_LEVELS - 1;
    const on = joined(
      [
        { sql: `e.lane = ${gated.sql} AND e.spread_level = lv.level`, params: gated.params },
        {
          sql: `e.min_price > CASE WHEN lv.level < ${last} THEN ? - (1 << lv.level) ELSE -1 END`,
          params: [bounds.min],
        },
        ...max,
      ],
      ' AND ',
    );
    // The levels as rows, none where the gate does not hold.
    const levels: Fragment = {
      sql: `(WITH RECURSIVE lv(level) AS (SELECT 0 WHERE ${gate}
          UNION ALL SELECT level + 1 FROM lv WHERE level < ${widestLevel(lane.sql)})
        SELECT level FROM lv)`,
      params: lane.params,
    };
    return {
      sql: `${levels.sql} lv CROSS JOIN storefront_entries e INDEXED BY storefront_entries_spread_idx ON ${on.sql}
        WHERE true`,
      params: [...levels.params, ...on.params],
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
      const from = within(gate);
      return { sql: `SELECT ${hit.sql} AS hit FROM ${from.sql}`, params: [...hit.params, ...from.params] };
    },
    countedRows: WINDOW_ROWS,
    sorted: (gate) => {
      const from = within(gate);
      const where = joined([...filters, ...pastCursor(order)], ' AND ');
      return {
        sql: `SELECT ${SELECTED('0')} FROM ${from.sql} AND ${where.sql} ${orderBy(order)} LIMIT ?`,
        params: [...from.params, ...where.params, rows],
      };
    },
  });
}
