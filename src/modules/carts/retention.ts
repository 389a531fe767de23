/**
 * Deletes carts nobody has touched for a month, with their lines (foreign key cascade). A guest's token or a
 * customer's return would find them again, but after a month a storefront starts a new cart anyway, and an
 * abandoned cart keeps an email and an address forever otherwise. `checking_out` counts as abandoned too: its
 * lock died CHECKOUT_LOCK_TTL_MS after it was taken and the next shopper write would reopen it. Completed carts
 * stay (their order names them) and so do merged ones (they hold no lines and no personal data).
 *
 * Nothing is released: a hold lasts at most a week (MAX_RESERVATION_TTL_MS) and the InventoryItem drops it by
 * itself. A cart whose line still records a live hold is skipped all the same, so retention never deletes a
 * cart whose stock is still held for it.
 */
import { and, eq, gt, inArray, lt, sql } from 'drizzle-orm';
import { cartLines, carts } from '../../db/schema';
import { createDb, type Database } from '../../lib/db';

export const ABANDONED_CART_RETENTION_MS = 30 * 86_400_000;
/** Carts per run (each with at most MAX_CART_LINES lines): a backlog drains over a few runs. */
export const CART_PRUNE_LIMIT = 100;

/** Carts not written since `cutoff` and holding nothing at `now`, through carts_status_updated_idx. */
export function abandonedCarts(db: Database, cutoff: Date, now: Date) {
  const liveHold = db
    .select({ one: sql`1` })
    .from(cartLines)
    .where(and(eq(cartLines.cartId, carts.id), gt(cartLines.reservationExpiresAt, now)));
  return db
    .select({ id: carts.id })
    .from(carts)
    .where(
      and(
        inArray(carts.status, ['open', 'checking_out']),
        lt(carts.updatedAt, cutoff),
        sql`NOT EXISTS ${liveHold}`,
      ),
    )
    .limit(CART_PRUNE_LIMIT);
}

/**
 * Deletes up to CART_PRUNE_LIMIT abandoned carts. One statement: a shopper write that lands first moves
 * `updated_at` and the cart no longer matches; one that lands after finds the cart gone (404 `cart_not_found`,
 * nothing recorded: write-guard.ts).
 */
export async function pruneAbandonedCarts(env: Env, now = new Date()): Promise<{ deleted: number }> {
  const db = createDb(env.DB);
  const cutoff = new Date(now.getTime() - ABANDONED_CART_RETENTION_MS);
  const deleted = await db
    .delete(carts)
    .where(inArray(carts.id, abandonedCarts(db, cutoff, now)))
    .returning({ id: carts.id });
  return { deleted: deleted.length };
}
