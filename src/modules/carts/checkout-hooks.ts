/**
 * What checkout does to a cart, as statements for its own batches. The cart module owns the carts table;
 * checkout changes a cart only through these.
 *
 * 1. `lockCartForCheckout`: `open` -> `checking_out`, stamping the lock time, only if the cart is still as
 *    checkout read it before pricing it (its `updated_at`, which every cart write moves strictly forward,
 *    even within one millisecond: write-guard.ts). From then on every shopper write fails (write-guard.ts),
 *    so the cart checkout priced is the cart it completes: a line removed between the pricing and the lock is
 *    never charged. The statement returns the cart's id when it took the lock and nothing otherwise (changed
 *    since read, already locked, completed, merged): run it with `commit({ conditional: true })` and answer
 *    409 when it changed no row. A lock older than CHECKOUT_LOCK_TTL_MS counts as abandoned (the Worker died
 *    mid-checkout): a new checkout may take it over, and a shopper write reopens the cart.
 * 2. `unlockCart`: back to `open` after a failure (payment declined, out of stock), if the lock is still ours,
 *    with `forgetLineHolds` before it in the same batch: checkout released the lines' holds, so the cart shows
 *    them `not_reserved` instead of the times they were held until.
 * 3. `completeCartStatement`: `checking_out` -> `completed` with the order id, in the order's batch, only while
 *    our lock holds. If the lock was taken over or the cart reopened, the statement fails the batch (NOT NULL
 *    on `status`), so an order is never created for a cart that changed after it was priced.
 *
 * Each statement names the lock by its time (`lockedAt`, the `now` given to `lockCartForCheckout`), so a
 * checkout that lost its lock cannot unlock or complete what another checkout holds.
 */
import { and, eq, exists, or, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { cartLines, carts } from '../../db/schema';
import { onlyIf, versionStamp } from '../../lib/d1-writes';
import type { Database } from '../../lib/db';
import type { CartRow } from './access';

/** How long checkout may hold a cart: longer than its slowest path (payment timeouts included). */
export const CHECKOUT_LOCK_TTL_MS = 120_000;

const heldBy = (lockedAt: Date) =>
  and(eq(carts.status, 'checking_out'), eq(carts.checkoutStartedAt, lockedAt));

/**
 * open (or abandoned checking_out) -> checking_out at `now`, if `cart` (as read before pricing) has not changed
 * since; returns `[{ id }]` when the lock was taken.
 */
export function lockCartForCheckout(db: Database, cart: Pick<CartRow, 'id' | 'updatedAt'>, now: Date) {
  return db
    .update(carts)
    .set({ status: 'checking_out', checkoutStartedAt: now, updatedAt: versionStamp(carts.updatedAt, now) })
    .where(
      and(
        eq(carts.id, cart.id),
        eq(carts.updatedAt, cart.updatedAt),
        or(
          eq(carts.status, 'open'),
          and(
            eq(carts.status, 'checking_out'),
            sql`${carts.checkoutStartedAt} < ${now.getTime() - CHECKOUT_LOCK_TTL_MS}`,
          ),
        ),
      ),
    )
    .returning({ id: carts.id });
}

/** checking_out -> open, if the lock taken at `lockedAt` still holds; returns `[{ id }]` when it did. */
export function unlockCart(db: Database, cartId: string, lockedAt: Date) {
  return db
    .update(carts)
    .set({ status: 'open', checkoutStartedAt: null, updatedAt: versionStamp(carts.updatedAt, new Date()) })
    .where(and(eq(carts.id, cartId), heldBy(lockedAt)))
    .returning({ id: carts.id });
}

/** The cart's lines recorded as holding nothing, if the lock taken at `lockedAt` still holds. */
export function forgetLineHolds(db: Database, cartId: string, lockedAt: Date) {
  const locked = db
    .select({ one: sql`1` })
    .from(carts)
    .where(and(eq(carts.id, cartId), heldBy(lockedAt)));
  return db
    .update(cartLines)
    .set({ reservationExpiresAt: null })
    .where(and(eq(cartLines.cartId, cartId), exists(locked)));
}

/** checking_out -> completed with `orderId`, failing the batch unless the lock taken at `lockedAt` holds. */
export function completeCartStatement(
  db: Database,
  cartId: string,
  lockedAt: Date,
  orderId: string,
  now: Date,
): BatchItem<'sqlite'> {
  return db
    .update(carts)
    .set({
      status: onlyIf(heldBy(lockedAt) ?? sql`0`, sql`'completed'`),
      completedOrderId: orderId,
      completedAt: now,
      updatedAt: versionStamp(carts.updatedAt, now),
    })
    .where(eq(carts.id, cartId));
}
