/**
 * A lane walk that another index can cut short, for listings whose filters the sort's index cannot seek to:
 * newest first or by title with a price bound (store-price-bound.ts, the price and the spread index). Walking the
 * lane in the sort's order and checking each product costs the page divided by the share of the lane that matches,
 * which grows with the catalog where few products match; reading every match from the other index and sorting them
 * costs the matches, which grow with the catalog where many do. One statement (one round trip) takes the first of
 * three ways that fits, and the sort and the walk are each given nothing to read unless taken:
 * 1. The head: the first HEAD_WALK products of the lane from the cursor, each checked; if `limit + 1` of them
 *    match, they are the page. Where matches are common near the cursor, a page reads what a lane walk reads and
 *    50-75 rows more (the head's rows are kept, counted and merged).
 * 2. Else the other index is read to count the matches, up to FEW_MATCHES rows and as many it passes over as the
 *    caller allows; if it ends within them with up to FEW_MATCHES matches, they are read and sorted.
 * 3. Else the lane walk goes on from the head's last product: what the walk cost before the head, plus the count
 *    and the seek to that product (HEAD_WALK rows of the sort's index).
 * Where the lane ends inside the head (a last page, a small list) the head holds every match, but the count and,
 * for few matches, the sort still run. The count may be of a superset (it need not apply every filter), so
 * filters that nothing satisfies together walk the rest of the lane. The count's rows are bounded whatever the
 * other index passes over (the spread index below a minimum): past its bound, the walk goes on, as before the head.
 */
import { type Fragment, joined, SELECTED } from './store-query-parts';

/**
 * The most matches a page reads and sorts. Reading them costs a few rows each (the index row, the entry, the
 * product's document when its price range cannot settle the bounds). Around 500 the sort and the walk are even at
 * 100,000 products, where a walk to a page of 20 among FEW_MATCHES + 1 matches spread along the lane passes over
 * about 4,000 products.
 */
export const FEW_MATCHES = 500;

/**
 * How many products of the lane the head walks: enough to fill a page of 20 where more than a tenth of the lane
 * matches. Where fewer do, the head costs a row per product (and the document where the entry's price range cannot
 * settle the bounds).
 */
const HEAD_WALK = 200;

/** The lane's order: a column of the entry `e` (the product id breaks ties in the same direction) and its index. */
export type LaneOrder = {
  column: string;
  index: string;
  direction: 'ASC' | 'DESC';
  /** The cursor's value of the column and product id, if any. */
  cursor: readonly [string | number, string] | undefined;
};

/** The comparison of an entry's (column, product id) with a key it must be past, in the order's direction. */
const pastOf = ({ column, direction }: LaneOrder) =>
  `(${column}, e.product_id) ${direction === 'ASC' ? '>' : '<'}`;

/** What a product must be past to be on the page: the cursor's key, if any. */
export const pastCursor = (order: LaneOrder): Fragment[] =>
  order.cursor ? [{ sql: `${pastOf(order)} (?, ?)`, params: [...order.cursor] }] : [];

/** ORDER BY the lane's order, of the entry `e`. */
export const orderBy = ({ column, direction }: LaneOrder) =>
  `ORDER BY ${column} ${direction}, e.product_id ${direction}`;

/** A gate's SQL: true when the ways it names are taken. */
export type Gate = string;

type HeadFirst = {
  lane: Fragment;
  order: LaneOrder;
  /** Every condition a product must meet (but the cursor), on the entry `e`. */
  filters: Fragment[];
  /** `limit + 1`. */
  rows: number;
  /**
   * A SELECT of the other index's rows that hold the matches (a superset will do), each with `hit`: 1 for a match,
   * 0 for a row it only passes over; it reads nothing unless `gate` holds.
   */
  matches: (gate: Gate) => Fragment;
  /**
   * How many rows of `matches` that are not matches the count may read past FEW_MATCHES: it reads up to
   * FEW_MATCHES + `passedOver` + 1 rows, and the sort is taken only if they end within the first
   * FEW_MATCHES + `passedOver` with at most FEW_MATCHES matches.
   */
  passedOver: number;
  /**
   * A SELECT of the matches past the cursor that pass the filters (`SELECTED` columns), in the lane's order, to
   * `rows`, which reads nothing unless `gate` holds.
   */
  sorted: (gate: Gate) => Fragment;
};

/** The page, by the first of the three ways that fits. */
export function headFirstQuery({
  lane,
  order,
  filters,
  rows,
  matches,
  passedOver,
  sorted,
}: HeadFirst): Fragment {
  const by = orderBy(order);
  const way = '(SELECT way FROM way)';
  const fromCursor = joined(
    [{ sql: `e.lane = ${lane.sql}`, params: lane.params }, ...pastCursor(order)],
    ' AND ',
  );
  const checked = joined([{ sql: 'true', params: [] }, ...filters], ' AND ');
  // The head's walk selects whole entries, as the filters read their prices: a join back to each would read two
  // rows for each product walked instead of one.
  const head: Fragment = {
    sql: `SELECT ${SELECTED('0')} FROM (
        SELECT * FROM storefront_entries e INDEXED BY ${order.index}
        WHERE ${fromCursor.sql} ${by} LIMIT ${HEAD_WALK}
      ) e WHERE ${checked.sql} ${by} LIMIT ?`,
    params: [...fromCursor.params, ...checked.params, rows],
  };
  const count = matches('NOT (SELECT yes FROM full)');
  // The whole lane, given no lane (nothing to seek) unless the walk is the way.
  const walked: Fragment = {
    sql: `e.lane = CASE WHEN ${way} = 'walk' THEN ${lane.sql} END`,
    params: lane.params,
  };
  // The head's last product, where the walk goes on: none where the lane ends inside the head.
  const edgeFrom = joined([walked, ...pastCursor(order)], ' AND ');
  const edge: Fragment = {
    sql: `SELECT ${order.column} AS value, e.product_id FROM storefront_entries e INDEXED BY ${order.index}
      WHERE ${edgeFrom.sql} ${by} LIMIT 1 OFFSET ${HEAD_WALK - 1}`,
    params: edgeFrom.params,
  };
  // Past the edge, to what the head's matches leave of the page.
  const walk = joined(
    [
      walked,
      { sql: `${pastOf(order)} ((SELECT value FROM edge), (SELECT product_id FROM edge))`, params: [] },
      ...filters,
    ],
    ' AND ',
  );
  const few = sorted(`${way} = 'sort'`);
  const countedRows = FEW_MATCHES + passedOver;
  const column = order.column.slice('e.'.length);
  return {
    sql: `WITH head AS MATERIALIZED (${head.sql}),
      full AS MATERIALIZED (SELECT count(*) AS taken, count(*) = ? AS yes FROM head),
      counted AS MATERIALIZED (SELECT count(*) AS seen, coalesce(sum(hit), 0) AS matches
        FROM (${count.sql} LIMIT ${countedRows + 1})),
      way AS MATERIALIZED (SELECT CASE WHEN (SELECT yes FROM full) THEN 'head'
        WHEN (SELECT seen <= ${countedRows} AND matches <= ${FEW_MATCHES} FROM counted) THEN 'sort'
        ELSE 'walk' END AS way),
      edge AS MATERIALIZED (${edge.sql})
    SELECT * FROM head WHERE ${way} <> 'sort'
    UNION ALL
    SELECT * FROM (${few.sql})
    UNION ALL
    SELECT * FROM (SELECT ${SELECTED('0')} FROM storefront_entries e INDEXED BY ${order.index}
      WHERE ${walk.sql} ${by} LIMIT ? - (SELECT taken FROM full))
    ORDER BY ${column} ${order.direction}, id ${order.direction} LIMIT ?`,
    params: [
      ...head.params,
      rows,
      ...count.params,
      ...edge.params,
      ...few.params,
      ...walk.params,
      rows,
      rows,
    ],
  };
}
