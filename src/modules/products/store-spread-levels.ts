/**
 * The spread levels of a lane's entries in SQL (storefront_entries.spread_level: `max_price - min_price < 2^level`,
 * the last level holding every wider spread): where a product of a level can be priced and still reach a minimum
 * price. Listings from a minimum read from there instead of from 0: a walk of the index by price (store-search.ts)
 * takes its start from here; the price sort (store-price-floor.ts) takes the lane's widest
 * level, and writes each level's window into its own walk (`widthOf`), one literal per level.
 */
import { SPREAD_LEVELS } from '../../db/schema/storefront';
import { MAX_AMOUNT } from '../../lib/money';
import type { Fragment } from './store-query-parts';

/**
 * The widest spread level among the entries of a lane (NULL when it has none), in SQL: one row of the spread
 * index, by SQLite's min/max optimization.
 */
export const widestLevel = (lane: string) =>
  `(SELECT max(spread_level) FROM storefront_entries INDEXED BY storefront_entries_spread_idx WHERE lane = ${lane})`;

/**
 * The price a product of spread level `level` must be priced above (its cheapest) to reach `minimum`, both SQL
 * expressions: the minimum less the level's width, or -1 for the last level, which has no width (prices are never
 * negative) and for a lane with no level (NULL).
 */
const windowFloor = (level: string, minimum: string) =>
  `CASE WHEN ${level} < ${SPREAD_LEVELS - 1} THEN ${minimum} - (1 << ${level}) ELSE -1 END`;

/**
 * The lowest price at which a product of `lane` can reach `minimum`, in SQL: the window floor of the widest spread
 * level the lane holds, plus one (0 when it holds the last level, or none).
 */
export function lowestReaching(lane: Fragment, minimum: number): Fragment {
  // Between 0 and MAX_AMOUNT, past which no price lies: a price's key shifted into a rowid must not wrap.
  return {
    sql: `(SELECT max(0, ${windowFloor('widest', `min(?, ${MAX_AMOUNT})`)} + 1)
      FROM (SELECT ${widestLevel(lane.sql)} AS widest))`,
    params: [minimum, ...lane.params],
  };
}
