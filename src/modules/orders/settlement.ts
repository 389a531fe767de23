/**
 * The order side of a payment settling (src/modules/payments/settlement.ts): an order placed as
 * `pending_payment` (Stripe, waiting for the shopper) becomes `paid` in the very batch that records the payment
 * as authorized or captured. Both reports of a settlement (Stripe's webhook and the storefront's confirmation)
 * arrive here, possibly at the same moment; the payment module lets exactly one batch settle the payment, and
 * this transition's claim is ANDed with that batch's `when`, so the order is marked paid once, with one
 * `order.paid` event and one transition, whichever report wins.
 *
 * An order that is no longer waiting (already paid, or canceled by staff, whose cancel voided the payment
 * first) is left alone.
 *
 * A refund made in the provider's dashboard arrives the same way (`OnPaymentRefunded`): the order takes it as a
 * staff refund would be taken, in the batch that records it on the payment, with the same transition, audit
 * entry and `order.refunded` event, once per report (the webhook's receipt) and never for edgecart's own refunds
 * (their batch did it; their report is recorded quietly). Its claim must match for the payment to be recorded.
 */
import { eq } from 'drizzle-orm';
import { orders } from '../../db/schema';
import { computedEvent } from '../../lib/commit';
import type { OnPaymentRefunded, OnPaymentSettled } from '../payments/settlement';
import { orderMoneyOf, orderPaidEvent, regionCodeOf } from './events';
import { refundedSoFar, refundedTotalStatement } from './order-payments';
import { allows, nextStatus } from './state';
import { transitionOrder } from './transitions';

export const markOrderPaidOnSettlement: OnPaymentSettled = async (db, settled, when, caller) => {
  if (settled.orderId === null) return { statements: [] };
  const order = await db.select().from(orders).where(eq(orders.id, settled.orderId)).get();
  if (order?.status !== 'pending_payment') return { statements: [] };
  const reason = `${settled.provider} payment ${settled.status} (${settled.via})`;
  const transition = transitionOrder(db, caller, order, { action: 'pay', to: 'paid', reason }, when);
  return {
    statements: [transition.claim, transition.record],
    events: [
      orderPaidEvent(order, await regionCodeOf(db, order.regionId), {
        id: settled.paymentId,
        via: settled.via,
      }),
    ],
  };
};

/** Money a provider reports refunded outside edgecart: the order's refunded total and status follow, with the event. */
export const refundOrderOnProviderRefund: OnPaymentRefunded = async (db, refunded, when, caller) => {
  if (refunded.orderId === null) return { statements: [] };
  const order = await db.select().from(orders).where(eq(orders.id, refunded.orderId)).get();
  if (!order || !allows(order.status, 'refund')) return { statements: [] };
  const refundedTotal = await refundedSoFar(db, order.id, refunded);
  const to = nextStatus(order.status, { action: 'refund', full: refundedTotal >= order.total });
  const reason = `${refunded.provider} refund (${refunded.via})`;
  const transition = transitionOrder(db, caller, order, { action: 'refund', to, reason }, when);
  const summary = {
    from: order.status,
    to,
    reason,
    ...orderMoneyOf(order, await regionCodeOf(db, order.regionId)),
    amount: refunded.amount,
    payment_id: refunded.paymentId,
    refunded_total: refundedTotal,
  };
  return {
    statements: [
      transition.claim,
      refundedTotalStatement(db, order.id, { ...refunded, guard: transition.won }),
      transition.record,
    ],
    audit: [{ action: 'order.refund', targetType: 'order', targetId: order.id, changes: summary }],
    // The status comes from the state machine's table, as a staff refund's does (changes.ts), so typed at run time.
    events: [
      computedEvent({
        type: 'order.refunded',
        aggregateType: 'order',
        aggregateId: order.id,
        payload: { number: order.number, ...summary },
      }),
    ],
    requires: transition.won,
  };
};
