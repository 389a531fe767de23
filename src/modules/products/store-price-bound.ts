/**
 * A listing newest first or by title with a price bound, of one lane (store-listing.ts builds the rest). The lane
 * is walked in the sort's order and each product's prices checked, which costs the page divided by the share of
 * the lane within the bounds: where a fixed number of products reach them ("from 1,000 €" in a catalog of
 * shirts), the walk grows with the catalog, to the whole lane on the last page. So the page takes the first of
 * three ways that fits (store-lane-head.ts): the lane's head; else the products within the bounds, found in the
 * price or the spread index, counted and, when few, read and sorted; else the rest of the lane.
 *
 * Up to a maximum, they are one range of the price index: the products whose cheapest price is at most it. From a
 * minimum, they are those whose dearest price reaches it, which the spread index finds level by level, each level
 * from its window (store-spread-levels.ts), below which none of the level reaches it. The levels are read one
 * after another (a nested loop over the lane's levels, not a merge: the count and the sort need no price order),
 * so one product of a wide spread (a gift card from 10 to 20,000) widens only its own level's window. Each window
 * also holds the products of its level priced wholly below the minimum, as many as the catalog prices there: the
 * count passes over at most PASSED_OVER of them, and past them the walk goes on. With both bounds inside a
 * product's own range, the count is of a superset (the document settles whether a variant lies within the range);
 * the sort applies every filter.
 */
import { type Gate, headFirstQuery, type LaneOrder, orderBy, pastCursor } from './store-lane-head';
import { type Fragment, joined, SELECTED } from './store-query-parts';
import { widestLevel, windowFloor } from './store-spread-levels';

/**
 * How many products priced wholly below a minimum, in their levels' windows, the count from it may pass over
 * beside the matches (each row with its entry): as many as the most matches the sort takes, so the count reads at
 * most 1,001 rows, and the sort reads them again. Up to a maximum every row is a match, and nothing is passed
 * over.
 */
const PASSED_OVER = 500;

/** The price bounds asked for, at least one. */
type PriceBounds = { min: number | undefined; max: number | undefined };

/** Tables to read and the conditions on them. */
type Source = { from: Fragment; where: Fragment[] };

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
  const maxCheck: Fragment[] =
    bounds.max === undefined ? [] : [{ sql: 'e.min_price <= ?', params: [bounds.max] }];
  /**
   * The entries that hold the products within the bounds, read only where `gate` holds: up to a maximum, one
   * range of the price index (its lane NULL unless the gate holds); from a minimum, each spread level up to the
   * lane's widest (none unless the gate holds) from its window, to the maximum.
   */
  const within = (gate: Gate): Source => {
    if (bounds.min === undefined) {
      return {
        from: { sql: 'storefront_entries e INDEXED BY storefront_entries_price_idx', params: [] },
        where: [{ sql: `e.lane = CASE WHEN ${gate} THEN ${lane.sql} END`, params: lane.params }, ...maxCheck],
      };
    }
    const levels = `(WITH RECURSIVE lv(level) AS (SELECT 0 WHERE ${gate}
        UNION ALL SELECT level + 1 FROM lv WHERE level < ${widestLevel(lane.sql)})
      SELECT level FROM lv) lv`;
    return {
      from: {
        sql: `${levels} CROSS JOIN storefront_entries e INDEXED BY storefront_entries_spread_idx`,
        params: lane.params,
      },
      where: [
        { sql: `e.lane = ${lane.sql} AND e.spread_level = lv.level`, params: lane.params },
        { sql: `e.min_price > ${windowFloor('lv.level', '?')}`, params: [bounds.min] },
        ...maxCheck,
      ],
    };
  };
  const select = (columns: Fragment, { from, where }: Source, rest: string): Fragment => {
    const conditions = joined(where, ' AND ');
    return {
      sql: `SELECT ${columns.sql} FROM ${from.sql} WHERE ${conditions.sql} ${rest}`,
      params: [...columns.params, ...from.params, ...conditions.params],
    };
  };
  // A row is a match if it reaches the minimum (every row is within a maximum).
  const hit: Fragment =
    bounds.min === undefined ? { sql: '1', params: [] } : { sql: 'e.max_price >= ?', params: [bounds.min] };
  return headFirstQuery({
    lane,
    order,
    filters,
    rows,
    matches: (gate) => select({ sql: `${hit.sql} AS hit`, params: hit.params }, within(gate), ''),
    passedOver: bounds.min === undefined ? 0 : PASSED_OVER,
    sorted: (gate) => {
      const source = within(gate);
      const all = { ...source, where: [...source.where, ...filters, ...pastCursor(order)] };
      const page = select({ sql: SELECTED('0'), params: [] }, all, `${orderBy(order)} LIMIT ?`);
      return { sql: page.sql, params: [...page.params, rows] };
    },
  });
}
