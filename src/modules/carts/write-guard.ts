/**
 * Every cart write is one batch that ends with `cartWriteGuard`: it stamps `updated_at` and fails the whole
 * batch (lib/d1-writes `onlyIf`) unless, with the batch's own changes applied, the cart is still writable and
 * within its limits. A checkout that locked the cart a moment ago, or a second request that filled it, makes
 * the batch roll back instead of slipping a change past checks that read an older state; the service's recheck
 * then says which (409 `cart_not_open`, 422 with the limit's code).
 *
 * `updated_at` is the cart's version: every statement that stamps it makes it strictly greater
 * (lib/d1-writes `versionStamp`), so a value read is matched by no row once any write has landed, even one in
 * the same millisecond. `cartUnchangedSince` and checkout's lock rely on that. The service answers the stamp the
 * guard returns (`afterGuard`), never its own clock, so the `updated_at` a shopper is shown is the row's.
 *
 * Writable: `open`, or `checking_out` with a lock older than CHECKOUT_LOCK_TTL_MS (the checkout died; see
 * checkout-hooks.ts). Writing to such a cart reopens it, and the dead checkout can no longer complete it.
 */
import { and, count, eq, gt, type SQL, sql, sum } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { cartLines, carts } from '../../db/schema';
import { onlyIf, versionStamp } from '../../lib/d1-writes';
import type { Database } from '../../lib/db';
import { AppError, conflict } from '../../lib/errors';
import { type CartRow, cartNotFound } from './access';
import { CHECKOUT_LOCK_TTL_MS } from './checkout-hooks';
import { MAX_CART_LINES, MAX_CART_QUANTITY, MAX_LINE_QUANTITY } from './limits';
import { cartCurrency } from './load';

/** Whether a cart with `row`'s status may be changed by the shopper at `now`. */
export function isWritable(row: Pick<CartRow, 'status' | 'checkoutStartedAt'>, now: Date): boolean {
  return (
    row.status === 'open' ||
    (row.status === 'checking_out' &&
      row.checkoutStartedAt !== null &&
      row.checkoutStartedAt.getTime() < now.getTime() - CHECKOUT_LOCK_TTL_MS)
  );
}

/** 409 `cart_not_open` unless the shopper may change the cart. */
export function assertWritable(row: CartRow, now: Date): void {
  if (isWritable(row, now)) return;
  const detail =
    row.status === 'checking_out'
      ? 'The cart is being checked out and cannot change.'
      : `The cart is ${row.status} and cannot change.`;
  throw conflict('cart_not_open', detail);
}

/** The 422 for a request that would take a cart past one of its limits (`pointer`: the field to blame). */
export function limitExceeded(code: string, detail: string, pointer?: string): AppError {
  return new AppError(422, code, detail, pointer ? { errors: [{ pointer, message: detail }] } : {});
}

/**
 * The last statement of every cart write (see above). Returns the cart's new `updated_at`, or no row when the
 * cart is gone (deleted by retention since it was read): run the write with `commit({ conditional: true })`, so
 * nothing of it is recorded then, and hand the result to `afterGuard`.
 */
export function cartWriteGuard(db: Database, cartId: string, now: Date) {
  const lines = db.select({ n: count() }).from(cartLines).where(eq(cartLines.cartId, cartId));
  const units = db
    .select({ n: sql`coalesce(${sum(cartLines.quantity)}, 0)` })
    .from(cartLines)
    .where(eq(cartLines.cartId, cartId));
  const overfull = db
    .select({ one: sql`1` })
    .from(cartLines)
    .where(and(eq(cartLines.cartId, cartId), gt(cartLines.quantity, MAX_LINE_QUANTITY)));
  const staleLock = now.getTime() - CHECKOUT_LOCK_TTL_MS;
  // Subqueries embedded in sql`` render with their own parentheses.
  const allowed = sql`(${carts.status} = 'open'
      OR (${carts.status} = 'checking_out' AND ${carts.checkoutStartedAt} < ${staleLock}))
    AND ${lines} <= ${MAX_CART_LINES} AND ${units} <= ${MAX_CART_QUANTITY} AND NOT EXISTS ${overfull}`;
  return db
    .update(carts)
    .set({
      status: onlyIf(allowed, sql`'open'`),
      checkoutStartedAt: null,
      updatedAt: versionStamp(carts.updatedAt, now),
      // The currency it is priced in (load.ts): its region's, which staff may have moved since it was set.
      currencyCode: cartCurrency(carts.regionId, carts.currencyCode),
    })
    .where(eq(carts.id, cartId))
    .returning({ updatedAt: carts.updatedAt, currencyCode: carts.currencyCode });
}

/** What `cartWriteGuard` returned. */
export type GuardStamp = { updatedAt: Date; currencyCode: string }[];

/** The guard's result in a write whose batch has statements of a varying number before its final guard. */
export function finalStamp(results: readonly [...unknown[], GuardStamp]): GuardStamp {
  return results.at(-1) as GuardStamp;
}

/**
 * Fails the batch (NOT NULL) unless the cart's `updated_at` is still the one read in `cart`: for a write that acts
 * on more of the cart than its guard checks (a merge moves the guest lines it read and deletes them all), so a
 * change that answered 200 in between is not lost. Put it before the cart's `cartWriteGuard`, which restamps it;
 * the recheck then answers 409 `cart_changed`.
 */
export function cartUnchangedSince(
  db: Database,
  cart: Pick<CartRow, 'id' | 'updatedAt'>,
): BatchItem<'sqlite'> {
  return failsUnless(db, cart.id, eq(carts.updatedAt, cart.updatedAt));
}

/**
 * Fails the batch (NOT NULL) unless the cart's region is still the one read in `cart`: for a PATCH that checked
 * what it sets (an address's country, a shipping option, a code) against that region without setting the region
 * itself, so a region another request moved the cart to meanwhile is not left with them; the recheck then
 * answers 409 `cart_changed`.
 */
export function cartRegionUnchanged(
  db: Database,
  cart: Pick<CartRow, 'id' | 'regionId'>,
): BatchItem<'sqlite'> {
  return failsUnless(db, cart.id, sql`${carts.regionId} IS ${cart.regionId}`);
}

/**
 * Fails the batch (NOT NULL on `cart`'s `updated_at`) unless the cart `intoId` still exists: for a write that moves
 * `cart`'s contents into another cart (a merge). That cart's guard, last in the batch, only skips the bookkeeping
 * when the cart went meanwhile (retention deleted it), and would leave `cart`'s statements before it applied.
 */
export function cartStillExists(
  db: Database,
  cart: Pick<CartRow, 'id'>,
  intoId: string,
): BatchItem<'sqlite'> {
  return failsUnless(
    db,
    cart.id,
    sql`EXISTS (SELECT 1 FROM carts AS into_cart WHERE into_cart.id = ${intoId})`,
  );
}

/** An UPDATE that leaves the cart as it is while `condition` holds, and fails the batch (NOT NULL) otherwise. */
function failsUnless(db: Database, cartId: string, condition: SQL): BatchItem<'sqlite'> {
  return db
    .update(carts)
    .set({ updatedAt: onlyIf(condition, carts.updatedAt) })
    .where(eq(carts.id, cartId));
}

/**
 * The recheck of a write to the carts `cartIds` whose batch the guard (or a constraint) failed: 404 if a cart
 * is gone, 409 `cart_not_open` if one is no longer writable, whatever `checks` throw for the request's own
 * rules, and otherwise 409 `cart_changed` (a concurrent change that has already passed again).
 */
export async function recheckCartWrite(
  db: Database,
  cartIds: string[],
  now: Date,
  checks: () => Promise<void> = async () => {},
): Promise<never> {
  for (const cartId of cartIds) {
    const row = await db.select().from(carts).where(eq(carts.id, cartId)).get();
    if (!row) throw cartNotFound();
    assertWritable(row, now);
  }
  await checks();
  throw conflict('cart_changed', 'The cart changed while this request was applied; send it again.');
}

/**
 * The cart row as the guard left it (`stamped`: what it returned): open, unlocked, at the `updated_at` it
 * stamped, in its region's currency. No row: the cart was deleted before the batch, which then recorded nothing
 * (404 `cart_not_found`).
 */
export function afterGuard(cart: CartRow, stamped: GuardStamp): CartRow {
  const [row] = stamped;
  if (!row) throw cartNotFound();
  return {
    ...cart,
    status: 'open',
    checkoutStartedAt: null,
    updatedAt: row.updatedAt,
    currencyCode: row.currencyCode,
  };
}
