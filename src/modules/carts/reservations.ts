/**
 * Stock held for cart lines. One reservation per line, id `<cart id>:<variant id>`, owned by the cart: adding
 * or changing a line sets the reservation to the line's quantity, removing the line releases it, and the
 * inventory object releases it by itself when it expires (CART_RESERVATION_TTL_SECONDS, default 900). A hold
 * is a courtesy to the shopper: checkout reserves every line again, all or nothing.
 *
 * PENDING: the inventory Durable Object (src/modules/inventory/stock.ts) is not on this branch yet; until it is
 * merged, lines are accepted without holding stock (no expiry shown).
 */
import { AppError } from '../../lib/errors';

export type Hold = { ok: true; expiresAt: Date | null } | { ok: false; available: number };

export function reservationIdOf(cartId: string, variantId: string): string {
  return `${cartId}:${variantId}`;
}

/** 409 `out_of_stock`, saying how many units could still be had. */
export function outOfStock(available: number): AppError {
  return new AppError(409, 'out_of_stock', `Not enough stock: ${available} available.`, {
    extensions: { available },
  });
}

/** Sets the line's reservation to `quantity` units. */
export async function holdLine(
  _env: Env,
  _cartId: string,
  _variantId: string,
  _quantity: number,
): Promise<Hold> {
  return { ok: true, expiresAt: null };
}

/** Releases the line's reservation. */
export async function releaseLine(_env: Env, _cartId: string, _variantId: string): Promise<void> {}
