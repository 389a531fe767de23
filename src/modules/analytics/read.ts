/** The sales report: daily rows in a range of UTC days, ordered by day, region, country and currency. */
import { and, asc, eq, gte, lte, sql } from 'drizzle-orm';
import { salesDaily } from '../../db/schema';
import type { Database } from '../../lib/db';
import { decodeCursor } from '../../lib/pagination';

export const SALES_SORT = 'day_region_country_currency';
const SALES_KEY = ['text', 'text', 'text', 'text'] as const;

export const salesKeyOf = (row: typeof salesDaily.$inferSelect) => [
  row.day,
  row.region,
  row.country,
  row.currency,
];

export function listSales(
  db: Database,
  query: {
    from: string;
    to: string;
    region?: string | undefined;
    limit: number;
    cursor?: string | undefined;
  },
) {
  const after = query.cursor ? decodeCursor(query.cursor, SALES_SORT, SALES_KEY) : null;
  // A later page starts its search on the cursor's day, not on `from` (SQLite seeks on one lower bound of the
  // day): it reads at most that day's rows before the cursor, not every page before it.
  const firstDay = after && after[0] > query.from ? after[0] : query.from;
  return db
    .select()
    .from(salesDaily)
    .where(
      and(
        gte(salesDaily.day, firstDay),
        lte(salesDaily.day, query.to),
        query.region ? eq(salesDaily.region, query.region) : undefined,
        // Row-value comparison: the rows after the cursor's in the listing's order.
        after
          ? sql`(${salesDaily.day}, ${salesDaily.region}, ${salesDaily.country}, ${salesDaily.currency}) > (${after[0]}, ${after[1]}, ${after[2]}, ${after[3]})`
          : undefined,
      ),
    )
    .orderBy(asc(salesDaily.day), asc(salesDaily.region), asc(salesDaily.country), asc(salesDaily.currency))
    .limit(query.limit + 1);
}
