/**
 * Canceling an order, by staff or by the system, and selling a placed order's units (which cancels it when they
 * ran out). A cancel voids the payment (or refunds what was captured) before its batch and gives the units back
 * after it, as a follow-up the stock sweep repeats if it fails. (An authorization the provider canceled cancels
 * its paid order in the webhook's batch instead, with the same follow-up: ./settlement.ts.)
 */
import type { Caller } from '../../lib/caller';
import type { FollowUp } from '../../lib/commit';
import { createDb } from '../../lib/db';
import type { IdempotencyRecord } from '../../lib/idempotency';
import { changeOrder } from './changes';
import { orderCanceledMoney, regionCodeOf } from './events';
import { releasePaymentForCancel } from './order-payments';
import type { OrderRow } from './schemas';
import { allows, invalidTransition } from './state';
import { settleStockNow } from './stock';

/** The follow-up of every cancel: the order's units go back (the stock sweep repeats it if it fails). */
export const returnStock = (env: Env, caller: Caller, orderId: string): FollowUp => ({
  name: 'order.return_stock',
  run: () => settleStockNow(env, caller, orderId),
});

export function cancelOrderAs(
  env: Env,
  caller: Caller,
  orderId: string,
  reason: string | null,
  idempotency?: IdempotencyRecord,
  mayRefund = true,
): Promise<OrderRow> {
  const db = createDb(env.DB);
  // Read at most once: the plan runs again after every lost race, and an order never changes region.
  let regionCode: Promise<string> | undefined;
  return changeOrder(env, caller, orderId, {
    plan: async ({ order }) => {
      if (!allows(order.status, 'cancel')) throw invalidTransition(order.status, 'cancel');
      regionCode ??= regionCodeOf(db, order.regionId);
      return { event: { action: 'cancel' }, reason, details: orderCanceledMoney(order, await regionCode) };
    },
    money: (parts) => releasePaymentForCancel(db, env, caller, parts.order, mayRefund),
    afterCommit: (order) => [returnStock(env, caller, order.id)],
    idempotency,
  });
}

/** The reason an order canceled for lack of stock gives, in its transition and its `order.canceled` event. */
export const OUT_OF_STOCK_REASON = 'out of stock when the sale was completed';

/**
 * Sells a placed order's held units; if they ran out (a hold expired and others bought the free units), the
 * order is canceled and its payment voided. Idempotent: what is already sold stays sold.
 */
export async function sellOrderStock(env: Env, caller: Caller, orderId: string): Promise<void> {
  const outcome = await settleStockNow(env, caller, orderId);
  if (outcome.outcome === 'short') await cancelOrderAs(env, caller, orderId, OUT_OF_STOCK_REASON);
}
