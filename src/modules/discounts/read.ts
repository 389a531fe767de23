/**
 * Reading discounts: by id or code, pages for staff (newest first, keyset on created_at, id) and how often a
 * code was redeemed. The redemption counts are SQL fragments shared with the redemption statement, so the
 * limit a shopper is told about and the limit the order's batch enforces are counted the same way.
 */
import { type AnyColumn, and, desc, eq, type SQL, sql } from 'drizzle-orm';
import { discountRedemptions, discounts } from '../../db/schema';
import type { Database } from '../../lib/db';
import { notFound } from '../../lib/errors';
import { olderThan } from '../../lib/keyset';
import type { DiscountUsage } from './rules';
import type { DiscountRow } from './schemas';

export const DISCOUNT_SORT = 'created_at_desc';

/** Who a per-customer limit counts: the customer's id and email (a guest has only the email). */
export type Redeemer = { customerId: string | null; email: string | null };

/** Redemptions that count: those of orders not canceled (a cancel releases its order's redemption). */
const counted = sql`${discountRedemptions.releasedAt} IS NULL`;

/** Redemptions of `discountId` that count (an SQL value: a bound id or a column). */
export function redemptionsTotal(discountId: SQL | string): SQL<number> {
  return sql<number>`(SELECT count(*) FROM ${discountRedemptions} WHERE ${discountRedemptions.discountId} = ${discountId}
    AND ${counted})`;
}

/**
 * Redemptions of `discountId` that count, by the redeemer: their customer id or email (NULL matches nothing).
 * A UNION of one index search each, not one WHERE with an OR: for the OR, SQLite reads every redemption of the
 * code, so each cart read of a popular code would read all its uses.
 */
export function redemptionsBy(discountId: SQL | string, who: Redeemer): SQL<number> {
  const uses = (column: AnyColumn, value: string | null) =>
    sql`SELECT ${discountRedemptions.id} FROM ${discountRedemptions}
      WHERE ${discountRedemptions.discountId} = ${discountId} AND ${column} = ${value} AND ${counted}`;
  return sql<number>`(SELECT count(*) FROM (${uses(discountRedemptions.customerId, who.customerId)}
    UNION ${uses(discountRedemptions.email, who.email)}))`;
}

export async function findDiscount(db: Database, id: string): Promise<DiscountRow> {
  const row = await db.select().from(discounts).where(eq(discounts.id, id)).get();
  if (!row) throw notFound('Discount');
  return row;
}

export async function timesUsed(db: Database, id: string): Promise<number> {
  const row = await db
    .select({ n: redemptionsTotal(id) })
    .from(sql`(SELECT 1)`)
    .get();
  return row?.n ?? 0;
}

/**
 * The query for the discount with `code` (already upper-cased) and its usage by `who`: for a batch. A count is
 * made only for a limit the code has (0 otherwise: only limits read usage), so a cart with a popular code that
 * has no total limit reads none of its uses.
 */
export function discountWithUsageQuery(db: Database, code: string, who: Redeemer) {
  const onlyFor = (limit: AnyColumn, count: SQL<number>) =>
    sql<number>`CASE WHEN ${limit} IS NULL THEN 0 ELSE ${count} END`;
  return db
    .select({
      discount: discounts,
      total: onlyFor(discounts.usageLimit, redemptionsTotal(sql`${discounts.id}`)).as('times_used'),
      byCustomer: onlyFor(discounts.usageLimitPerCustomer, redemptionsBy(sql`${discounts.id}`, who)).as(
        'times_used_by_customer',
      ),
    })
    .from(discounts)
    .where(eq(discounts.code, code));
}

/** What `discountWithUsageQuery` found: the discount (or null) and its usage. */
export function discountWithUsage(rows: { discount: DiscountRow; total: number; byCustomer: number }[]): {
  discount: DiscountRow | null;
  usage: DiscountUsage;
} {
  const row = rows[0];
  return row
    ? { discount: row.discount, usage: { total: row.total, byCustomer: row.byCustomer } }
    : { discount: null, usage: { total: 0, byCustomer: 0 } };
}

export function listDiscounts(
  db: Database,
  filters: { code?: string | undefined },
  page: { limit: number; after: [number, string] | null },
) {
  return db
    .select({ discount: discounts, timesUsed: redemptionsTotal(sql`${discounts.id}`) })
    .from(discounts)
    .where(
      and(
        filters.code ? eq(discounts.code, filters.code) : undefined,
        olderThan(discounts.createdAt, discounts.id, page.after),
      ),
    )
    .orderBy(desc(discounts.createdAt), desc(discounts.id))
    .limit(page.limit + 1);
}
