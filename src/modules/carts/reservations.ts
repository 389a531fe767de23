/**
 * Stock held for cart lines, through the inventory client (src/modules/inventory/stock.ts). One reservation per
 * line, id `<cart id>:<variant id>` (`reservationIdOf`), owned by the cart: adding or changing a line sets it to
 * the line's quantity, removing the line releases it, and the variant's InventoryItem object releases it by
 * itself when it expires (CART_RESERVATION_TTL_SECONDS, default 900). A hold is a courtesy to the shopper:
 * checkout reserves every line again, all or nothing, and may use the same ids.
 */
import { AppError } from '../../lib/errors';
import { releaseStock, reserveStock } from '../inventory/stock';
import { MAX_RESERVATION_TTL_MS, MIN_RESERVATION_TTL_MS } from '../inventory/stock-types';

export type Hold = { ok: true; expiresAt: Date } | { ok: false; available: number };

const DEFAULT_TTL_SECONDS = 900;

export function reservationIdOf(cartId: string, variantId: string): string {
  return `${cartId}:${variantId}`;
}

/**
 * The configured hold time: a missing or malformed value falls back to the documented default, and the value is
 * kept within what the inventory object accepts (a second to a week).
 */
export function reservationTtlMs(env: Pick<Env, 'CART_RESERVATION_TTL_SECONDS'>): number {
  const seconds = Number(env.CART_RESERVATION_TTL_SECONDS);
  const ms = (Number.isInteger(seconds) && seconds > 0 ? seconds : DEFAULT_TTL_SECONDS) * 1000;
  return Math.min(Math.max(ms, MIN_RESERVATION_TTL_MS), MAX_RESERVATION_TTL_MS);
}

/** 409 `out_of_stock`, saying how many units the line could have. */
export function outOfStock(available: number): AppError {
  return new AppError(409, 'out_of_stock', `Not enough stock: ${available} available.`, {
    extensions: { available },
  });
}

/** Sets the line's reservation to `quantity` units for the configured time. */
export async function holdLine(env: Env, cartId: string, variantId: string, quantity: number): Promise<Hold> {
  const held = await reserveStock(env.INVENTORY_ITEM, variantId, {
    reservationId: reservationIdOf(cartId, variantId),
    owner: cartId,
    quantity,
    ttlMs: reservationTtlMs(env),
  });
  return held.ok
    ? { ok: true, expiresAt: new Date(held.expiresAt) }
    : { ok: false, available: held.available };
}

/** Releases the line's reservation (a line removed, or moved to another cart). */
export async function releaseLine(env: Env, cartId: string, variantId: string): Promise<void> {
  await releaseStock(env.INVENTORY_ITEM, variantId, reservationIdOf(cartId, variantId));
}
