/**
 * The one way other modules (carts, checkout, orders) touch stock: plain functions over the `INVENTORY_ITEM`
 * namespace binding, one InventoryItem object per variant (`idFromName(variantId)`). Each call is one RPC to
 * that SKU's object, which serializes every change to it; none of them touches D1 or waits for it.
 *
 * Every mutating call answers with `stock` (the variant's figures right after it) and `level` (`before` and
 * `after`: in_stock / low_stock / out_of_stock). The object itself writes level transitions to D1
 * (`stock_levels`, `inventory.low_stock` / `inventory.out_of_stock` events) right after the call, so callers
 * need not. Failing calls answer `ok: false` with a reason; they throw only on a caller's bug (an id over
 * 200 characters, a quantity that is not a positive integer, an anonymous actor) or when the object is
 * unreachable, which the Worker reports as a 500 like any platform failure.
 *
 * @example
 * const held = await reserveStock(env.INVENTORY_ITEM, line.variantId, {
 *   reservationId: line.id, owner: cart.id, quantity: line.quantity, ttlMs: 15 * 60_000,
 * });
 * if (!held.ok) throw new AppError(409, 'out_of_stock', `Only ${held.available} left.`);
 */
import type {
  CommitInput,
  CommitResult,
  ReleaseResult,
  ReserveInput,
  ReserveResult,
  RestockInput,
  StockChangeResult,
  StockSnapshot,
} from './stock-types';

export type InventoryNamespace = Env['INVENTORY_ITEM'];

/** The stub of a variant's stock object; `stock.ts` functions are preferred over calling it directly. */
export function stockObject(ns: InventoryNamespace, variantId: string) {
  return ns.get(ns.idFromName(variantId));
}

/**
 * Holds `quantity` units of the variant for `reservationId` (one per cart line) until `ttlMs` from now.
 * Calling again with the same id ADJUSTS the hold to the new quantity (or only extends its expiry when the
 * quantity is the same); if the new quantity does not fit, the previous hold stays as it was.
 *
 * Answers `{ ok: true, expiresAt }` (epoch ms), or `{ ok: false, reason, available }` where `available` is
 * the most this reservation could hold now (its own hold included) and `reason` is `insufficient_stock`, or
 * `committed` when the reservation id was already sold. A reserve never takes available below 0 unless the
 * variant allows backorders; after staff counted less than is reserved, a hold that does not grow still succeeds
 * while its units exist (as commit honours it). The hold is released by the object's alarm at expiry; expired
 * holds stop counting at once. `owner` must be the same on every call for an id (a different one throws).
 */
export function reserveStock(
  ns: InventoryNamespace,
  variantId: string,
  input: ReserveInput,
): Promise<ReserveResult> {
  return stockObject(ns, variantId).reserve({ variantId }, input);
}

/**
 * Releases the reservation (a cart line removed, a cart abandoned, a checkout that failed). Idempotent: a
 * reservation that is gone, expired or unknown answers `{ released: false, quantity: 0 }`; one already sold
 * also answers its sale (`sold: { orderId, quantity, source }`, else null): those units left with the order.
 */
export function releaseStock(
  ns: InventoryNamespace,
  variantId: string,
  reservationId: string,
): Promise<ReleaseResult> {
  return stockObject(ns, variantId).release({ variantId }, reservationId);
}

/**
 * Sells `quantity` units for `orderId` against the reservation: on-hand goes down and the hold goes away.
 * Idempotent per `reservationId`: a repeat returns the first sale with `replayed: true`, changing nothing
 * (compare its `orderId` if a reservation could ever be committed for two orders).
 *
 * If the hold expired, was released by the alarm, or is smaller than `quantity`, free units (never units
 * other carts hold) are taken instead (`source: 'free_stock'`); if there are not enough, the answer is
 * `{ ok: false, reason: 'insufficient_stock', available }` and nothing changes: the caller must act (refuse
 * the checkout with 409 `out_of_stock`, or void the payment). With backorders allowed it always succeeds.
 */
export function commitStock(
  ns: InventoryNamespace,
  variantId: string,
  input: CommitInput,
): Promise<CommitResult> {
  return stockObject(ns, variantId).commit({ variantId }, input);
}

/**
 * Puts `quantity` units back on hand (an order canceled or returned), once per `key`: use a key that names
 * the cause and the variant's line, e.g. `order:<order id>:cancel`; a key already applied answers the first
 * change with `applied: false`. The object writes the ledger entry to D1 (`inventory_changes`, an audit entry
 * `inventory.restock` naming `actor`, and an `inventory.adjusted` event with `requestId`) after answering.
 */
export function restockVariant(
  ns: InventoryNamespace,
  variantId: string,
  input: RestockInput,
): Promise<StockChangeResult> {
  return stockObject(ns, variantId).restock({ variantId }, input);
}

/**
 * The variant's stock right now: on_hand, reserved (active holds only), available, level, settings and the
 * number of active reservations. A variant never stocked answers zeros and `out_of_stock`.
 */
export function stockSnapshot(ns: InventoryNamespace, variantId: string): Promise<StockSnapshot> {
  return stockObject(ns, variantId).snapshot({ variantId });
}

/**
 * Snapshots of many variants at once: one RPC per distinct variant, all in parallel (each SKU's object is
 * independent), keyed by variant id. Rejects if any object fails.
 */
export async function stockSnapshots(
  ns: InventoryNamespace,
  variantIds: readonly string[],
): Promise<Map<string, StockSnapshot>> {
  const unique = [...new Set(variantIds)];
  const snapshots = await Promise.all(unique.map((id) => stockSnapshot(ns, id)));
  return new Map(unique.map((id, i) => [id, snapshots[i] as StockSnapshot]));
}
