/**
 * An order's units in the InventoryItem objects (src/modules/inventory/stock.ts), moved to where the order's
 * status says they belong. `orders.stock_status` records where they are:
 *
 * - `held` and the order is live: sell every line (commitStock against the line's reservation) -> `sold`.
 * - `held` and the order is canceled: release every hold -> `returned`.
 * - `sold` and the order is canceled: put every line back on hand (restockVariant) -> `returned`.
 *
 * Every step is idempotent in the objects (a commit per reservation id, a restock per key `order:<id>:<line
 * id>`), and the status moves with a guarded UPDATE, so running this twice (checkout's follow-up and the sweep,
 * or two sweeps) does each thing once. Lines are handled one variant at a time in variant-id order, as checkout
 * reserves them.
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

async function moveStatus(env: Env, order: OrderRow, from: OrderStockStatus, to: OrderStockStatus) {
  await createDb(env.DB)
    .update(orders)
    .set({ stockStatus: to })
    .where(and(eq(orders.id, order.id), eq(orders.stockStatus, from)));
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
    await moveStatus(env, order, 'held', 'sold');
    return { outcome: 'sold' };
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
    for (const line of byVariant(lines))
      await releaseStock(env.INVENTORY_ITEM, line.variantId, line.reservationId);
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
