/**
 * Who may reach a cart. A guest cart is reached with its secret token (`X-Cart-Token`, 256 random bits; only
 * its SHA-256 is stored and it is compared in constant time); a customer's cart with that customer's access
 * token. Anything else, another cart's token or none, is the same 404 `cart_not_found` as a cart that does not
 * exist, so a cart id reveals nothing. Tokens are not guessable, so reaching a cart needs no rate limit.
 */
import { eq } from 'drizzle-orm';
import { carts } from '../../db/schema';
import { randomToken, sha256Hex, timingSafeEqualStrings } from '../../lib/crypto';
import type { Database } from '../../lib/db';
import { AppError } from '../../lib/errors';

export const CART_TOKEN_HEADER = 'X-Cart-Token';

export type CartRow = typeof carts.$inferSelect;

/** Who is asking: the signed-in customer (if any) and the cart token they sent (if any). */
export type Shopper = { customerId: string | null; cartToken: string | undefined };

export const cartNotFound = () =>
  new AppError(404, 'cart_not_found', 'There is no such cart, or it belongs to someone else.');

/** A new guest cart token and the hash stored for it. */
export async function newCartToken(): Promise<{ token: string; tokenHash: string }> {
  const token = randomToken(32);
  return { token, tokenHash: await sha256Hex(token) };
}

/** Whether `shopper` may use the cart: its customer, or the holder of its token while it is a guest cart. */
async function mayUse(row: CartRow, shopper: Shopper): Promise<boolean> {
  if (row.customerId !== null && row.customerId === shopper.customerId) return true;
  const presented = shopper.cartToken === undefined ? '' : await sha256Hex(shopper.cartToken);
  // Compared even when there is nothing to match, so a missing token costs what a wrong one does.
  const matches = timingSafeEqualStrings(presented, row.tokenHash ?? '');
  return matches && row.tokenHash !== null && shopper.cartToken !== undefined;
}

/** The cart `id` if `shopper` may use it, else 404 `cart_not_found`. */
export async function cartForShopper(db: Database, id: string, shopper: Shopper): Promise<CartRow> {
  const row = await db.select().from(carts).where(eq(carts.id, id)).get();
  if (!row || !(await mayUse(row, shopper))) throw cartNotFound();
  return row;
}
