/**
 * A guest cart joins the customer's cart when the shopper signs in. The storefront calls
 * `POST /v1/store/carts/{guest cart id}/merge` right after sign-in with BOTH the customer's access token and
 * the guest cart's `X-Cart-Token`: the token proves the cart is the shopper's, the access token whose it
 * becomes. Sign-in itself is left as it is (no cart logic in authentication), and a storefront that forgets to
 * call merge loses nothing: the guest cart stays reachable by its token.
 *
 * - The customer has no active cart: the guest cart becomes theirs (its token stops working; their access
 *   token reaches it; its email defaults to theirs). Lines and holds stay as they are.
 * - The customer has an open cart: each guest line moves into it, quantities of the same variant summed and
 *   capped at MAX_LINE_QUANTITY; if the result would exceed the cart's line or unit limit, the merge is refused
 *   with 422 and nothing moves. The customer's cart keeps its region, email and choices; the guest's address,
 *   discount code and (same region) shipping option fill only what it lacks when the batch runs (in SQL, so
 *   what the customer set in another tab after the merge read their cart is kept). The guest cart becomes `merged`
 *   (its email and address cleared, its lines gone); its token then reads it, and it cannot change.
 * - The customer's cart is being checked out: 409 `cart_not_open`.
 * - The guest cart changed after it was read (a line added in another tab): 409 `cart_changed`, nothing moves,
 *   so no line is deleted without having been moved; the storefront sends the merge again.
 * Calling merge again for the same guest cart answers the customer's cart again (the call is idempotent).
 * Holds follow the lines after the batch: the guest's are released and the customer's cart holds what its lines
 * have then, read again (best effort; checkout reserves again anyway).
 */
import { and, eq, isNull, sql } from 'drizzle-orm';
import { cartLines, carts, customers } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { commit, type DomainEvent, type FollowUp } from '../../lib/commit';
import { versionStamp } from '../../lib/d1-writes';
import { createDb, type Database } from '../../lib/db';
import { newId } from '../../lib/ids';
import type { CartRow } from './access';
import { MAX_LINE_QUANTITY } from './limits';
import { assertWithinLimits, holdCommittedLines, type LineQuantity, quantitiesOf } from './line-items';
import { type LoadedCart, type LocaleChains, priceCart } from './load';
import { releaseLine } from './reservations';
import { activeCartOf } from './service';
import {
  afterGuard,
  assertWritable,
  cartStillExists,
  cartUnchangedSince,
  cartWriteGuard,
  finalStamp,
  recheckCartWrite,
} from './write-guard';

const merged = (target: string, guest: string, customerId: string): DomainEvent[] => [
  {
    type: 'cart.merged',
    aggregateType: 'cart',
    aggregateId: target,
    payload: { id: target, guest_cart_id: guest, customer_id: customerId },
  },
];

/** The guest cart's lines summed into the target's, as the merge batch leaves them. */
function mergedQuantities(target: LineQuantity[], guest: LineQuantity[]): LineQuantity[] {
  const byVariant = new Map(target.map((line) => [line.variantId, { ...line }]));
  for (const line of guest) {
    const existing = byVariant.get(line.variantId);
    if (existing) existing.quantity = Math.min(existing.quantity + line.quantity, MAX_LINE_QUANTITY);
    else byVariant.set(line.variantId, { ...line });
  }
  return [...byVariant.values()];
}

async function adopt(db: Database, caller: Caller, guest: CartRow, customerId: string, now: Date) {
  const customer = await db
    .select({ email: customers.email })
    .from(customers)
    .where(eq(customers.id, customerId))
    .get();
  const adopted: CartRow = {
    ...guest,
    customerId,
    tokenHash: null,
    email: guest.email ?? customer?.email ?? null,
  };
  const [, , stamped] = await commit(db, caller, {
    conditional: true,
    statements: [
      // The email is defaulted from the cart as read: a change since must fail the batch, not be overwritten.
      cartUnchangedSince(db, guest),
      db
        .update(carts)
        .set({ customerId, tokenHash: null, email: adopted.email })
        .where(and(eq(carts.id, guest.id), isNull(carts.customerId))),
      cartWriteGuard(db, guest.id, now),
    ],
    events: merged(guest.id, guest.id, customerId),
    // Another request gave the customer an active cart first (the unique index), or changed the guest cart:
    // merging again joins it, or takes the cart as it is now.
    recheck: () => recheckCartWrite(db, [guest.id], now),
  });
  return afterGuard(adopted, stamped);
}

/**
 * After the batch: the guest's holds released, the customer's lines of the moved variants held at what they hold
 * then (summed in SQL, with any add that landed meanwhile).
 */
function moveHolds(env: Env, db: Database, guest: CartRow, target: CartRow, variantIds: string[]): FollowUp {
  return {
    name: 'move reservations',
    run: async () => {
      for (const variantId of variantIds) await releaseLine(env, guest.id, variantId);
      await holdCommittedLines(env, db, target.id, variantIds);
    },
  };
}

async function mergeInto(
  env: Env,
  db: Database,
  caller: Caller,
  guest: CartRow,
  target: CartRow,
  now: Date,
): Promise<CartRow> {
  assertWritable(target, now);
  const customerId = target.customerId ?? '';
  const guestLines = await db.select().from(cartLines).where(eq(cartLines.cartId, guest.id)).all();
  const check = async () => {
    assertWithinLimits(mergedQuantities(await quantitiesOf(db, target.id), guestLines), null);
  };
  await check();
  // What the customer's cart lacks when the batch runs, not as read: a choice the customer made since is kept.
  const noAddress = sql`${carts.shippingAddressEncrypted} IS NULL`;
  const filled = {
    shippingAddressEncrypted: sql<
      string | null
    >`coalesce(${carts.shippingAddressEncrypted}, ${guest.shippingAddressEncrypted})`,
    shippingCountry: sql<
      string | null
    >`CASE WHEN ${noAddress} THEN ${guest.shippingCountry} ELSE ${carts.shippingCountry} END`,
    discountCode: sql<string | null>`coalesce(${carts.discountCode}, ${guest.discountCode})`,
    shippingOptionId: sql<string | null>`coalesce(${carts.shippingOptionId},
      CASE WHEN ${carts.regionId} = ${guest.regionId} THEN ${guest.shippingOptionId} END)`,
  };
  const results = await commit(db, caller, {
    conditional: true,
    statements: [
      // The lines moved below are the ones read: a line added since must fail the batch, not be deleted unmoved.
      cartUnchangedSince(db, guest),
      // And the cart they move into is still there: else nothing of the guest cart may change.
      cartStillExists(db, guest, target.id),
      cartWriteGuard(db, guest.id, now),
      ...guestLines.map((line) =>
        db
          .insert(cartLines)
          .values({
            ...line,
            id: newId('cli'),
            cartId: target.id,
            reservationExpiresAt: null,
            updatedAt: now,
          })
          .onConflictDoUpdate({
            target: [cartLines.cartId, cartLines.variantId],
            set: {
              quantity: sql`min(${cartLines.quantity} + excluded.quantity, ${MAX_LINE_QUANTITY})`,
              updatedAt: now,
            },
          }),
      ),
      db.delete(cartLines).where(eq(cartLines.cartId, guest.id)),
      db
        .update(carts)
        .set({
          status: 'merged',
          mergedIntoCartId: target.id,
          email: null,
          shippingAddressEncrypted: null,
          shippingCountry: null,
          updatedAt: versionStamp(carts.updatedAt, now),
        })
        .where(eq(carts.id, guest.id)),
      db.update(carts).set(filled).where(eq(carts.id, target.id)).returning(),
      cartWriteGuard(db, target.id, now),
    ],
    events: merged(target.id, guest.id, customerId),
    recheck: () =>
      recheckCartWrite(db, [guest.id, target.id], now, async () => {
        await check();
      }),
    afterCommit: [
      moveHolds(
        env,
        db,
        guest,
        target,
        guestLines.map((line) => line.variantId),
      ),
    ],
  });
  // The customer's cart as its update left it (the statement before the guard), then as the guard stamped it.
  const [written] = results.at(-2) as CartRow[];
  return afterGuard(written ?? target, finalStamp(results));
}

/** Merges (or hands over) `guest` into the customer's cart; answers the customer's cart. */
export async function mergeGuestCart(
  env: Env,
  caller: Caller,
  guest: CartRow,
  customerId: string,
  locales: LocaleChains,
): Promise<LoadedCart> {
  const db = createDb(env.DB);
  const now = new Date();
  const price = (cart: CartRow) => priceCart(env, db, cart, { locales, now });
  if (guest.customerId === customerId) return price(guest);
  if (guest.status === 'merged' && guest.mergedIntoCartId) {
    const target = await db.select().from(carts).where(eq(carts.id, guest.mergedIntoCartId)).get();
    if (target?.customerId === customerId) return price(target);
  }
  assertWritable(guest, now);
  const target = await activeCartOf(db, customerId);
  if (!target) return price(await adopt(db, caller, guest, customerId, now));
  if (target.id === guest.id) return price(target);
  return price(await mergeInto(env, db, caller, guest, target, now));
}
