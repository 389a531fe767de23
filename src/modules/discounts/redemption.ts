/**
 * Redeeming a discount code with an order, for checkout: one statement to put in the order's batch, and the
 * recheck that names why it failed. And giving the use back when the order is canceled: one statement in the
 * cancel's batch (src/modules/orders/transitions.ts puts it in every move to `canceled`).
 *
 * The statement inserts the redemption row only through a condition evaluated inside the batch: the discount
 * exists, is active, is within its validity window at `at`, and both its total and its per-customer count of
 * redemptions are below their limits. When the condition fails, the row's `discount_id` is NULL, the NOT NULL
 * constraint fails, and D1 rolls back the whole batch: no order, no redemption, no event. D1 runs each batch as
 * one transaction on the primary, one at a time, so two checkouts racing for the LAST use are serialized: the
 * first batch's row is counted by the second batch's condition, and the second batch fails. The last use can
 * never be taken twice, and there is no window between a check and a write, because there is no separate check.
 *
 * @example
 * await commit(db, caller, {
 *   statements: [insertOrder, ...insertLines, discountRedemptionStatement(db, { discountId, orderId, ...who, at })],
 *   recheck: async () => {
 *     await assertDiscountRedeemable(db, { discountId, ...who, at }); // 409 discount_usage_limit_reached, ...
 *     throw conflict('checkout_conflict', 'The cart changed during checkout; try again.');
 *   },
 * });
 */
import { and, eq, isNull, type SQL, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { discountRedemptions, discounts } from '../../db/schema';
import { onlyIf } from '../../lib/d1-writes';
import type { Database } from '../../lib/db';
import { AppError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { type Redeemer, redemptionsBy, redemptionsTotal } from './read';
import { DISCOUNT_REFUSALS, redemptionRefusal } from './rules';

export type Redemption = Redeemer & { discountId: string; at: Date };

/**
 * The INSERT of the redemption of `discountId` by `orderId`; in a batch, it fails the batch when the code is
 * over a limit, inactive, deleted or outside its window at `at`. `email` must be lower-cased.
 */
export function discountRedemptionStatement(
  db: Database,
  redemption: Redemption & { orderId: string },
): BatchItem<'sqlite'> {
  const at = redemption.at.getTime();
  const redeemable = sql`${discounts.active} = 1
    AND (${discounts.startsAt} IS NULL OR ${discounts.startsAt} <= ${at})
    AND (${discounts.endsAt} IS NULL OR ${discounts.endsAt} > ${at})
    AND (${discounts.usageLimit} IS NULL OR ${redemptionsTotal(redemption.discountId)} < ${discounts.usageLimit})
    AND (${discounts.usageLimitPerCustomer} IS NULL
      OR ${redemptionsBy(redemption.discountId, redemption)} < ${discounts.usageLimitPerCustomer})`;
  // Values in the table's column order (last, `released_at`: NULL, the use counts). The LEFT JOIN yields a row
  // even when the discount was deleted, so a missing discount fails the batch too instead of inserting nothing.
  return db.insert(discountRedemptions).select(
    sql`SELECT ${newId('dred')}, ${onlyIf(redeemable, discounts.id)}, ${redemption.orderId},
      ${redemption.customerId}, ${redemption.email}, ${at}, NULL
    FROM (SELECT 1) LEFT JOIN ${discounts} ON ${eq(discounts.id, redemption.discountId)}`,
  );
}

/**
 * For a commit's recheck: throws 409 with the reason the redemption is refused now (`discount_code_invalid`,
 * `discount_not_started`, `discount_expired`, `discount_usage_limit_reached`,
 * `discount_customer_limit_reached`), and returns when it would be accepted.
 */
export async function assertDiscountRedeemable(db: Database, redemption: Redemption): Promise<void> {
  const row = await db
    .select({
      discount: discounts,
      total: redemptionsTotal(redemption.discountId),
      byCustomer: redemptionsBy(redemption.discountId, redemption),
    })
    .from(discounts)
    .where(eq(discounts.id, redemption.discountId))
    .get();
  const refusal = redemptionRefusal(row?.discount ?? null, redemption.at, {
    total: row?.total ?? 0,
    byCustomer: row?.byCustomer ?? 0,
  });
  if (refusal) throw new AppError(409, refusal, DISCOUNT_REFUSALS[refusal]);
}

/**
 * The UPDATE that gives `orderId`'s use of its code back (its limits count it no more), for the order's cancel:
 * applies only where `guard` holds (the cancel won the order), and once (a released row keeps its time).
 */
export function releaseRedemptionStatement(
  db: Database,
  orderId: string,
  at: Date,
  guard: SQL,
): BatchItem<'sqlite'> {
  return db
    .update(discountRedemptions)
    .set({ releasedAt: at })
    .where(and(eq(discountRedemptions.orderId, orderId), isNull(discountRedemptions.releasedAt), guard));
}
