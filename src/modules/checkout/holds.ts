/**
 * Checkout's stock holds: every line reserved again, all or nothing, one variant at a time in variant-id order
 * (every checkout takes them in the same order), with the ids the cart's own holds use (`<cart id>:<variant
 * id>`, carts/reservations.ts), so a unit the cart already holds is not asked for twice. On any failure every
 * line's hold is released and the shopper gets 409 `out_of_stock` with what is `available` (as adding the
 * line to the cart would).
 */
import { outOfStock, reservationTtlMs } from '../carts/reservations';
import { releaseStock, reserveStock, stockSnapshots } from '../inventory/stock';
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

/**
 * Before anything is written: 409 `out_of_stock` for a line that holds nothing (its cart hold lapsed) while its
 * variant has fewer units available than it needs and takes no backorders. A read per variant, so a sold-out SKU
 * costs the shoppers who lost the race no lock, no hold and no unlock. Lines still held skip it (their own hold
 * counts for them), and so do backordered SKUs (they sell what is not on hand); passing it promises nothing:
 * `holdAll` decides.
 */
export async function refuseSoldOut(
  env: Env,
  lines: (HeldLine & { heldUntil: Date | null })[],
  now: Date,
): Promise<void> {
  const unheld = lines.filter((line) => line.heldUntil === null || line.heldUntil <= now);
  const snapshots = await stockSnapshots(
    env.INVENTORY_ITEM,
    unheld.map((line) => line.variantId),
  );
  for (const line of unheld) {
    const snapshot = snapshots.get(line.variantId);
    if (snapshot?.backorder === 'allow') continue;
    const available = snapshot?.available ?? 0;
    if (available < line.quantity) throw outOfStock(Math.max(0, available));
  }
}
