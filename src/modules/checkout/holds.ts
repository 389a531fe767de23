/**
 * Checkout's stock holds: every line reserved again, all or nothing, one variant at a time in variant-id order
 * (every checkout takes them in the same order), with the ids the cart's own holds use (`<cart id>:<variant
 * id>`, carts/reservations.ts), so a unit the cart already holds is not asked for twice. On any failure every
 * line's hold is released and the shopper gets 409 `out_of_stock` with what is `available` (as adding the
 * line to the cart would).
 */
import { outOfStock, reservationTtlMs } from '../carts/reservations';
import { releaseStock, reserveStock } from '../inventory/stock';
import type { OrderLineDraft } from '../orders/place';

type HeldLine = Pick<OrderLineDraft, 'variantId' | 'reservationId' | 'quantity'>;

const inVariantOrder = <L extends HeldLine>(lines: L[]) =>
  [...lines].sort((a, b) => (a.variantId < b.variantId ? -1 : a.variantId > b.variantId ? 1 : 0));

/** Releases every line's hold (idempotent: a hold that is gone is nothing to release). */
export async function releaseHolds(env: Env, lines: HeldLine[]): Promise<void> {
  for (const line of inVariantOrder(lines)) {
    await releaseStock(env.INVENTORY_ITEM, line.variantId, line.reservationId);
  }
}

/** Holds every line for the cart, or releases them all and throws 409 `out_of_stock`. */
export async function holdAll(env: Env, cartId: string, lines: HeldLine[]): Promise<void> {
  for (const line of inVariantOrder(lines)) {
    const held = await reserveStock(env.INVENTORY_ITEM, line.variantId, {
      reservationId: line.reservationId,
      owner: cartId,
      quantity: line.quantity,
      ttlMs: reservationTtlMs(env),
    });
    if (!held.ok) {
      await releaseHolds(env, lines);
      throw outOfStock(held.available);
    }
  }
}
