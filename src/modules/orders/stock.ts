/**
 * An order's units in the InventoryItem objects (src/modules/inventory/stock.ts), moved to where the order's
 * status says they belong. `orders.stock_status` records where they are:
 *
 * - `held` and the order is live: sell every line (commitStock against the line's reservation) -> `sold`.
 * - `held` and the order is canceled: release every hold, and put back on hand any line sold already (a sale
 *   whose recording died, or is still running) -> `returned`.
 * - `sold` and the order is canceled: put every line back on hand (restockVariant) -> `returned`.
 *
 * Every step is idempotent in the objects (a commit per reservation id, a restock per key `order:<id>:<line
 * id>`), and the status moves with a guarded UPDATE, so running this twice (checkout's follow-up and the sweep,
 * or two sweeps) does each thing once. Lines are handled one variant at a time in variant-id order, as checkout
 * reserves them. A sale that read the order before a cancel gave its units back, and so sold after it, finds
 * its move to `sold` refused: it puts back what it sold (the same keys: what the cancel restocked is not
 * restocked twice).
 *
 * If a sale cannot be completed (a hold expired and the free units went to someone else), the lines already
 * sold go back, and the order is reported as short: it is then canceled (./cancel.ts, sellOrderStock).
 */
import { and, eq } from 'drizzle-orm';
import { type OrderStockStatus, orders } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { createDb } from '../../lib/db';
import { commitStock, releaseStock, restockVariant } from '../inventory/stock';
import { findOrder, loadOrderParts } from './read';
import type { OrderLineRow, OrderRow } from './schemas';

export type StockOutcome =
  | { outcome: 'unchanged' | 'sold' | 'returned' }
  /** Not enough units for these lines; whatever had been sold for the order is back on hand. */
  | { outcome: 'short'; variantIds: string[] };

const byVariant = (lines: OrderLineRow[]) => [...lines].sort((a, b) => (a.variantId < b.variantId ? -1 : 1));

const restockKey = (order: OrderRow, line: OrderLineRow) => `order:${order.id}:${line.id}`;

/** Moves the order's stock status from `from` to `to`; false if it was no longer `from`. */
async function moveStatus(env: Env, order: OrderRow, from: OrderStockStatus, to: OrderStockStatus) {
  const moved = await createDb(env.DB)
    .update(orders)
    .set({ stockStatus: to })
    .where(and(eq(orders.id, order.id), eq(orders.stockStatus, from)))
    .returning({ id: orders.id });
  return moved.length > 0;
}

async function stockStatusNow(env: Env, order: OrderRow): Promise<OrderStockStatus | undefined> {
  const row = await createDb(env.DB)
    .select({ stockStatus: orders.stockStatus })
    .from(orders)
    .where(eq(orders.id, order.id))
    .get();
  return row?.stockStatus;
}

async function putBack(env: Env, caller: Caller, order: OrderRow, lines: OrderLineRow[], reason: string) {
  for (const line of byVariant(lines)) {
    await restockVariant(env.INVENTORY_ITEM, line.variantId, {
      key: restockKey(order, line),
      quantity: line.quantity,
      reason,
      actor: caller.actor,
      requestId: caller.meta.requestId,
    });
  }
}

async function sell(env: Env, caller: Caller, order: OrderRow, lines: OrderLineRow[]): Promise<StockOutcome> {
  const sold: OrderLineRow[] = [];
  const short: string[] = [];
  for (const line of byVariant(lines)) {
    const sale = await commitStock(env.INVENTORY_ITEM, line.variantId, {
      reservationId: line.reservationId,
      orderId: order.id,
      quantity: line.quantity,
    });
    if (sale.ok) sold.push(line);
    else short.push(line.variantId);
  }
  if (short.length === 0) {
    if (await moveStatus(env, order, 'held', 'sold')) return { outcome: 'sold' };
    // No longer held: another run recorded the same sales, or a cancel gave the units back after this sale read
    // the order, and what it sold since then must go back too.
    if ((await stockStatusNow(env, order)) !== 'returned') return { outcome: 'sold' };
    await putBack(env, caller, order, sold, `order ${order.number} canceled`);
    return { outcome: 'returned' };
  }
  // Marked returned BEFORE giving back: a rerun must not sell again what it is about to give back (a replayed
  // commit answers ok without taking units). A Worker dying right here leaves those units sold (never oversold);
  // the order is canceled by its placer either way.
  await moveStatus(env, order, 'held', 'returned');
  await putBack(env, caller, order, sold, `order ${order.number} could not be completed: out of stock`);
  for (const line of lines) await releaseStock(env.INVENTORY_ITEM, line.variantId, line.reservationId);
  return { outcome: 'short', variantIds: short };
}

/** Moves the order's units where its status says (see above); what it did, or `short`. */
export async function settleOrderStock(
  env: Env,
  caller: Caller,
  order: OrderRow,
  lines: OrderLineRow[],
): Promise<StockOutcome> {
  const canceled = order.status === 'canceled';
  if (order.stockStatus === 'held' && !canceled) return sell(env, caller, order, lines);
  if (order.stockStatus === 'held' && canceled) {
    const sold: OrderLineRow[] = [];
    for (const line of byVariant(lines)) {
      const released = await releaseStock(env.INVENTORY_ITEM, line.variantId, line.reservationId);
      if (released.sold?.orderId === order.id) sold.push(line);
    }
    await putBack(env, caller, order, sold, `order ${order.number} canceled`);
    await moveStatus(env, order, 'held', 'returned');
    return { outcome: 'returned' };
  }
  if (order.stockStatus === 'sold' && canceled) {
    await putBack(env, caller, order, lines, `order ${order.number} canceled`);
    await moveStatus(env, order, 'sold', 'returned');
    return { outcome: 'returned' };
  }
  return { outcome: 'unchanged' };
}

/**
 * The same for the order as it is now (not as a request saw it): what follow-ups after a commit and the stock
 * sweep call.
 */
export async function settleStockNow(env: Env, caller: Caller, orderId: string): Promise<StockOutcome> {
  const db = createDb(env.DB);
  const parts = await loadOrderParts(db, await findOrder(db, orderId));
  return settleOrderStock(env, caller, parts.order, parts.lines);
}
