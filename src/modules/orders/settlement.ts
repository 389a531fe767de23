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
 * (their batch does it; their report is recorded quietly). Its claim must match for the payment to be recorded.
 * The same seam records an edgecart refund whose request never did, for the sweep of unclaimed refunds
 * (src/modules/payments/refund-claims.ts, via `sweep`). The order's refunded total counts the refunds it recorded
 * (order-payments.ts), so its `order.refunded` events add up to it. An order that takes no refund (canceled: its
 * `order.canceled` released its whole total) keeps its status, and only its refunded total counts the refund.
 *
 * An authorization the provider cancels (`OnPaymentVoided`: it expired after 7 days, or was voided in Stripe's
 * dashboard) leaves a `paid` order nothing to ship against: that order is canceled in the batch that records the
 * void, as a staff cancel would cancel it (transition, `order.cancel` audit entry, one `order.canceled` with the
 * same payload), and its units go back after the batch, by the same follow-up (the stock sweep repeats it). Only
 * the order's active payment counts, and only from `paid`: an order still waiting for the shopper is the stock
 * sweep's to cancel, one shipped or canceled is past it. A void edgecart made (a staff cancel) is never seen here:
 * its report is recorded quietly, or finds the payment already voided.
 *
 * A refund the provider reports failed or canceled after it was counted (`OnPaymentRefundFailed`) returned
 * nothing: in the batch that takes it off the payment, the order's refunded total is recounted without it
 * and a `partially_refunded` or `refunded` order gives the money back (action `refund_failed`, its claim required):
 * `partially_refunded` while refunded money remains, else the status it had before its first refund (the `from`
 * of its earliest `refund` transition, brought up to date with what shipped since: shipping keeps a refunded order
 * `partially_refunded`), with the `order.refund_failed` audit entry and event (the mirror of `order.refunded`,
 * which revenue counts back). An order in another status (canceled: its cancel refunded what was captured) keeps
 * its status; only its refunded total follows.
 *
 * Every audit entry here names the provider's report as its actor (`system`, `<provider>-<via>`: `stripe-webhook`,
 * `stripe-confirmation`, `stripe-sweep`), not the caller: the storefront's confirmation is asked for by a shopper, often an
 * anonymous one, and what it records is what the provider answered, as the webhook records what it sent.
 */
import { and, asc, eq, type SQL, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { type OrderStatus, orderLines, orders, orderTransitions } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { type AuditRecord, computedEvent, type DomainEvent } from '../../lib/commit';
import type { Database } from '../../lib/db';
import { refundRequestPrefix } from '../payments/provider-keys';
import type { OnRefundUnclaimed } from '../payments/refund-claims';
import type {
  OnPaymentRefunded,
  OnPaymentRefundFailed,
  OnPaymentSettled,
  OnPaymentVoided,
  PaymentRefunded,
  PaymentReport,
  SettlementExtension,
} from '../payments/settlement';
import { returnStock } from './cancel';
import { orderCanceledMoney, orderMoneyOf, orderPaidEvent, regionCodeOf } from './events';
import { activePayment, cancelKeyOf, refundedSoFar, refundedTotalStatement } from './order-payments';
import type { OrderRow } from './schemas';
import { allows, nextStatus } from './state';
import { transitionOrder } from './transitions';

const NOTHING: SettlementExtension = { statements: [] };

/** The audit entry of an order change a provider's report made, by the report (see above). */
const reportedAudit = (
  report: Pick<PaymentReport, 'provider' | 'via'>,
  action: string,
  orderId: string,
  changes: Record<string, unknown>,
): AuditRecord => ({
  action,
  targetType: 'order',
  targetId: orderId,
  changes,
  actor: { type: 'system', id: `${report.provider}-${report.via}` },
});

const orderOf = (db: Database, orderId: string) =>
  db.select().from(orders).where(eq(orders.id, orderId)).get();

export const markOrderPaidOnSettlement: OnPaymentSettled = async (db, settled, when, caller) => {
  if (settled.orderId === null) return NOTHING;
  const order = await orderOf(db, settled.orderId);
  if (order?.status !== 'pending_payment') return NOTHING;
  const reason = `${settled.provider} payment ${settled.status} (${settled.via})`;
  const transition = transitionOrder(db, caller, order, { action: 'pay', to: 'paid', reason }, when);
  const paid = orderPaidEvent(order, await regionCodeOf(db, order.regionId), {
    id: settled.paymentId,
    via: settled.via,
  });
  return {
    statements: transition.batch(),
    audit: [
      reportedAudit(settled, 'order.pay', order.id, {
        from: order.status,
        to: 'paid',
        reason,
        ...paid.payload,
      }),
    ],
    events: [paid],
  };
};

/**
 * A move of the order's refunded money that a provider reported (a refund made outside edgecart, or a refund that
 * failed): the transition `action` to `to`, the refunded total recounted from the payments with the report's figure,
 * the audit entry `order.<action>` and the event `type`. The payment is recorded only if the order's claim matched.
 */
async function reportedMoneyMove(
  db: Database,
  caller: Caller,
  order: OrderRow,
  report: PaymentRefunded,
  move: {
    action: 'refund' | 'refund_failed';
    to: OrderStatus;
    reason: string;
    type: string;
    /** What the report adds to the order's refunded total (a failure: takes off). */
    change: number;
    /** The order's refunded total once the report is recorded (refundedSoFar with `change`). */
    refundedTotal: number;
  },
  when: SQL,
): Promise<SettlementExtension> {
  const { action, to, reason, type, change, refundedTotal } = move;
  const transition = transitionOrder(db, caller, order, { action, to, reason }, when);
  const summary = {
    from: order.status,
    to,
    reason,
    ...orderMoneyOf(order, await regionCodeOf(db, order.regionId)),
    amount: report.amount,
    payment_id: report.paymentId,
    refunded_total: refundedTotal,
  };
  return {
    statements: transition.batch([refundedTotalStatement(db, order.id, { change, guard: transition.won })]),
    audit: [reportedAudit(report, `order.${action}`, order.id, summary)],
    // `from` and `to` come from the state machine's table, as a staff refund's do (changes.ts), so typed at run time.
    events: [
      computedEvent({
        type,
        aggregateType: 'order',
        aggregateId: order.id,
        payload: { number: order.number, ...summary },
      }),
    ],
    requires: transition.won,
  };
}

/** Money a provider reports refunded outside edgecart: the order's refunded total and status follow, with the event. */
export const refundOrderOnProviderRefund: OnPaymentRefunded = async (db, refunded, when, caller) => {
  if (refunded.orderId === null) return NOTHING;
  const order = await orderOf(db, refunded.orderId);
  if (!order) return NOTHING;
  const change = refunded.amount;
  // A canceled order (its cancel's `order.canceled` released its whole total) keeps its status; its total follows.
  if (!allows(order.status, 'refund')) {
    return { statements: [refundedTotalStatement(db, order.id, { change, guard: when })] };
  }
  const refundedTotal = await refundedSoFar(db, order.id, change);
  const to = nextStatus(order.status, { action: 'refund', full: refundedTotal >= order.total });
  const reason = `${refunded.provider} refund (${refunded.via})`;
  const move = { action: 'refund', to, reason, type: 'order.refunded', change, refundedTotal } as const;
  return reportedMoneyMove(db, caller, order, refunded, move, when);
};

/**
 * The status `order` had before its first refund, with what shipped since (see above); from its lines when no
 * refund transition says (an order refunded before transitions named their action cannot be, but costs nothing).
 */
async function statusBeforeRefunds(db: Database, orderId: string): Promise<OrderStatus> {
  const first = await db
    .select({ from: orderTransitions.fromStatus })
    .from(orderTransitions)
    .where(and(eq(orderTransitions.orderId, orderId), eq(orderTransitions.action, 'refund')))
    .orderBy(asc(orderTransitions.at), asc(orderTransitions.id))
    .get();
  if (first?.from === 'fulfilled' || first?.from === 'delivered') return first.from;
  const lines = await db
    .select({
      ordered: sql<number>`coalesce(sum(${orderLines.quantity}), 0)`,
      shipped: sql<number>`coalesce(sum(${orderLines.fulfilledQuantity}), 0)`,
    })
    .from(orderLines)
    .where(eq(orderLines.orderId, orderId))
    .get();
  if (!lines || lines.shipped === 0) return 'paid';
  return lines.shipped >= lines.ordered ? 'fulfilled' : 'partially_fulfilled';
}

/** A refund that returned nothing after all: the order gives the money back (see above). */
export const restoreOrderOnRefundFailure: OnPaymentRefundFailed = async (db, failed, when, caller) => {
  if (failed.orderId === null) return NOTHING;
  const order = await orderOf(db, failed.orderId);
  if (!order) return NOTHING;
  const change = -failed.amount;
  if (!allows(order.status, 'refund_failed')) {
    return { statements: [refundedTotalStatement(db, order.id, { change, guard: when })] };
  }
  const refundedTotal = await refundedSoFar(db, order.id, change);
  const to = nextStatus(order.status, {
    action: 'refund_failed',
    remaining: refundedTotal > 0,
    before: await statusBeforeRefunds(db, order.id),
  });
  const reason = `${failed.provider} refund ${failed.status} (${failed.via})`;
  const move = {
    action: 'refund_failed',
    to,
    reason,
    type: 'order.refund_failed',
    change,
    refundedTotal,
  } as const;
  return reportedMoneyMove(db, caller, order, failed, move, when);
};

/**
 * `order` canceled on a provider's report, as a staff cancel would cancel it: the transition, the `order.cancel`
 * audit entry by the report, one `order.canceled` with the same payload, and its units back after the batch, by
 * the same follow-up (the stock sweep repeats it); `also`, statements that apply only with the cancel. What the
 * report records is recorded only with it (`requires`). `from` is the order's status, one a cancel leaves.
 */
async function canceledOnReport(
  db: Database,
  env: Env,
  caller: Caller,
  order: OrderRow,
  from: 'paid' | 'pending_payment',
  report: PaymentReport,
  reason: string,
  when: SQL,
  also: (won: SQL) => BatchItem<'sqlite'>[] = () => [],
): Promise<SettlementExtension> {
  const transition = transitionOrder(db, caller, order, { action: 'cancel', to: 'canceled', reason }, when);
  const summary = {
    from,
    to: 'canceled' as const,
    reason,
    ...orderCanceledMoney(order, await regionCodeOf(db, order.regionId)),
  };
  const canceled: Extract<DomainEvent, { type: 'order.canceled' }> = {
    type: 'order.canceled',
    aggregateType: 'order',
    aggregateId: order.id,
    payload: { number: order.number, ...summary },
  };
  return {
    statements: transition.batch(also(transition.won)),
    audit: [reportedAudit(report, 'order.cancel', order.id, summary)],
    events: [canceled],
    requires: transition.won,
    afterCommit: [returnStock(env, caller, order.id)],
  };
}

/** An authorization the provider canceled: the paid order it paid for is canceled, its units given back after. */
export const cancelOrderOnProviderVoid: OnPaymentVoided = async (db, env, voided, when, caller) => {
  if (voided.orderId === null) return NOTHING;
  const order = await orderOf(db, voided.orderId);
  if (order?.status !== 'paid') return NOTHING;
  // Only the payment that pays for the order now counts (activePayment): a void of another takes nothing from it.
  if ((await activePayment(db, order.id))?.id !== voided.paymentId) return NOTHING;
  // The void is recorded only with the cancel: never a voided payment under an order still saying paid.
  const reason = `${voided.provider} authorization canceled (${voided.via})`;
  return canceledOnReport(db, env, caller, order, order.status, voided, reason, when);
};

/**
 * An edgecart refund no request claimed (the sweep, src/modules/payments/refund-claims.ts). A cancel's own refund
 * (made under the order's cancel key at the order's version: the cancel's batch was lost, and nothing moved the
 * order since) completes that cancel, its refunded total with the refund: a retried cancel would have. Any other
 * is taken as a refund the provider reported.
 */
export const recordUnclaimedRefund: OnRefundUnclaimed = async (db, env, refund, when, caller) => {
  const order = refund.orderId === null ? undefined : await orderOf(db, refund.orderId);
  const from = order?.status === 'paid' || order?.status === 'pending_payment' ? order.status : undefined;
  const cancelPrefix = order && (await refundRequestPrefix(refund.paymentId, cancelKeyOf(order)));
  if (order && from && cancelPrefix && refund.providerKey?.startsWith(cancelPrefix)) {
    const reason = `canceled: its ${refund.provider} refund was made (${refund.via})`;
    return canceledOnReport(db, env, caller, order, from, refund, reason, when, (won) => [
      refundedTotalStatement(db, order.id, { change: refund.amount, guard: won }),
    ]);
  }
  return refundOrderOnProviderRefund(db, refund, when, caller);
};
