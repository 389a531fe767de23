/**
 * The money side of order changes, through the payments module's service (which moves money and returns the
 * writes for the order's own batch). Policy:
 *
 * - Placing an order authorizes its total (checkout); nothing is taken yet.
 * - The first fulfilment captures the whole authorized amount: money is taken when the goods ship. An order
 *   with a total and no payment authorized or captured does not ship (an authorization the provider cancels
 *   cancels a paid order, ./settlement.ts; what is left is edgecart's own void whose cancel's batch was lost).
 * - A refund returns captured money, in part or in full; before anything was captured there is nothing to
 *   refund (cancel the order instead).
 * - Canceling voids an authorization (or a payment still waiting for the shopper), and refunds whatever was
 *   captured (a capture made in the provider's dashboard).
 *
 * Provider idempotency keys name the order, its version and the action, so a retry of the same change on the
 * same order (a Worker that died after the provider call) repeats the provider's first answer instead of moving
 * money twice. A refund sent with an Idempotency-Key names the request instead of the version: its retry reaches
 * the provider's first refund even when the order changed in between (another action moved its version). A
 * refund's key never names the amount it came to ("everything" is what was left when it was first asked), so a
 * retry finds its refund (`refundOfRequest`) after the provider's report recorded it.
 */
import { and, eq, inArray, isNotNull, type SQL, sql } from 'drizzle-orm';
import { orders, payments, RETURNING_REFUND_STATUSES, refunds } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import type { Database } from '../../lib/db';
import { AppError, conflict } from '../../lib/errors';
import type { IdempotencyClaim } from '../../lib/idempotency';
import { paymentsOfOrder } from '../payments/read';
import type { PaymentRow, RefundRow } from '../payments/schemas';
import {
  capturePayment,
  type PaymentWrites,
  refundOfRequest,
  refundPayment,
  voidPayment,
} from '../payments/service';
import { CAPTURABLE, REFUNDABLE, VOIDABLE } from '../payments/transitions';
import type { OrderRow } from './schemas';

/** The payment that pays for the order now: the newest one not voided or failed. */
export async function activePayment(db: Database, orderId: string): Promise<PaymentRow | undefined> {
  const rows = await paymentsOfOrder(db, orderId);
  return rows.filter((p) => p.status !== 'voided' && p.status !== 'failed').at(-1);
}

const keyOf = (order: OrderRow, action: string) => `order:${order.id}:v${order.version}:${action}`;

/** The key of a cancel of `order` as it is: its provider calls (a void, or a refund) are made under it. */
export const cancelKeyOf = (order: OrderRow) => keyOf(order, 'cancel');

/**
 * What the order's refunds returned, as the order recorded them: its payments' refund rows returning money that
 * the order claimed (a refund only the provider's report recorded is the request's to count, with its event, when
 * its batch claims it: settlement.ts in payments), so the order's refunded total is what its `order.refunded` events
 * add up to (and, on a canceled order, the cancel's refund, which `order.canceled` released).
 */
const claimedRefunds = (db: Database, orderId: string) =>
  db
    .select({ total: sql<number>`coalesce(sum(${refunds.amount}), 0)` })
    .from(refunds)
    .innerJoin(payments, eq(payments.id, refunds.paymentId))
    .where(
      and(
        eq(payments.orderId, orderId),
        inArray(refunds.status, RETURNING_REFUND_STATUSES),
        isNotNull(refunds.claimedAt),
      ),
    );

/**
 * The order's refunded total recounted, in the same batch as a refund's payment writes. A provider's report writes
 * its refund rows after the order side's statements, so `reported.change` is what they add (or a failure takes off);
 * `guard` is the order change's `won`.
 */
export function refundedTotalStatement(
  db: Database,
  orderId: string,
  reported?: { change: number; guard: SQL },
) {
  return db
    .update(orders)
    .set({ refundedTotal: sql`(${claimedRefunds(db, orderId)}) + ${reported?.change ?? 0}` })
    .where(and(eq(orders.id, orderId), reported?.guard));
}

/** The order's refunded total as D1 says now, and `change` more (a report's, as `refundedTotalStatement` counts it). */
export async function refundedSoFar(db: Database, orderId: string, change = 0): Promise<number> {
  const row = await claimedRefunds(db, orderId).get();
  return (row?.total ?? 0) + change;
}

/** 409: shipping the order would send goods that nothing pays for. */
const notPaidFor = () =>
  conflict(
    'payment_not_capturable',
    'This order has no authorized or captured payment (it was voided), so it cannot be shipped; cancel it.',
  );

/**
 * At the first fulfilment: capture the authorized payment in full. Nothing to do once captured, or for a free
 * order. An order with a total and neither an authorization nor captured money (a void recorded without its
 * order's cancel) is refused before anything is written.
 */
export async function captureForFulfilment(
  db: Database,
  env: Env,
  caller: Caller,
  order: OrderRow,
): Promise<PaymentWrites | null> {
  const payment = await activePayment(db, order.id);
  if (payment && CAPTURABLE.includes(payment.status)) {
    const { writes } = await capturePayment(db, env, caller, {
      paymentId: payment.id,
      idempotencyKey: keyOf(order, 'capture'),
    });
    return writes;
  }
  if ((payment && REFUNDABLE.includes(payment.status)) || order.total === 0) return null;
  throw notPaidFor();
}

/**
 * Cancel: void what is only authorized or pending, refund what was captured. A refund moves money back, so a caller
 * that may cancel but not refund (`mayRefund` false: a key with `orders:write` and not `orders:refund`) is refused
 * before the provider is asked.
 */
export async function releasePaymentForCancel(
  db: Database,
  env: Env,
  caller: Caller,
  order: OrderRow,
  mayRefund = true,
): Promise<PaymentWrites | null> {
  const payment = await activePayment(db, order.id);
  if (!payment) return null;
  if (VOIDABLE.includes(payment.status)) {
    const { writes } = await voidPayment(db, env, caller, {
      paymentId: payment.id,
      idempotencyKey: cancelKeyOf(order),
    });
    return writes;
  }
  const refundable = payment.amountCaptured - payment.amountRefunded;
  const idempotencyKey = cancelKeyOf(order);
  // This cancel's refund, made by an attempt that died past the provider: recorded once the batch claims it, unless
  // it is already.
  const earlier = await refundOfRequest(db, payment.id, idempotencyKey);
  if (earlier?.claimedAt) return null;
  if (!earlier && (!REFUNDABLE.includes(payment.status) || refundable === 0)) return null;
  if (!mayRefund) {
    throw new AppError(
      403,
      'forbidden',
      'Canceling this order refunds its captured payment, which needs the "orders:refund" permission.',
    );
  }
  const { writes } = await refundPayment(db, env, caller, {
    paymentId: payment.id,
    amount: refundable,
    reason: 'order canceled',
    idempotencyKey,
  });
  return { ...writes, statements: [...writes.statements, refundedTotalStatement(db, order.id)] };
}

/** 409: there is no captured money to refund. */
export const nothingToRefund = () =>
  conflict(
    'nothing_to_refund',
    'Nothing has been charged for this order yet (payment is taken at the first fulfilment); cancel it instead.',
  );

/**
 * What a refund of the order is made from: the refund the request (`key`, see `refundKeyOf`) made already, whose
 * retry this is, and its payment; or the payment refundable now, if any, and what is left to refund of it.
 */
export async function refundableOf(
  db: Database,
  order: OrderRow,
  key: string,
): Promise<{ payment: PaymentRow | undefined; refundable: number; earlier: RefundRow | undefined }> {
  const payment = await activePayment(db, order.id);
  const earlier = payment && (await refundOfRequest(db, payment.id, key));
  const from = earlier || (payment && REFUNDABLE.includes(payment.status)) ? payment : undefined;
  return { payment: from, refundable: from ? from.amountCaptured - from.amountRefunded : 0, earlier };
}

/**
 * The key of a staff refund: a request with an Idempotency-Key is named by it alone (the same key with another
 * amount or reason is another request, which the provider refuses: 422 `idempotency_key_reused`); one without it by
 * the order's version and what it asks (`amount` undefined: everything left, whatever that comes to).
 */
export const refundKeyOf = (
  order: OrderRow,
  asked: { amount?: number; reason?: string | null },
  request?: IdempotencyClaim,
) =>
  request
    ? `order:${order.id}:request:${request.scope}\n${request.key}:refund`
    : keyOf(order, `refund:${asked.amount ?? 'rest'}:${asked.reason ?? ''}`);

/** Refunds `amount` of the order's payment; the writes also bring the order's refunded total up to date. */
export async function refundForOrder(
  db: Database,
  env: Env,
  caller: Caller,
  order: OrderRow,
  refund: { paymentId: string; amount: number; reason: string | null; key: string },
): Promise<{ refundId: string; writes: PaymentWrites }> {
  const { refund: row, writes } = await refundPayment(db, env, caller, {
    paymentId: refund.paymentId,
    amount: refund.amount,
    reason: refund.reason,
    idempotencyKey: refund.key,
  });
  return {
    refundId: row.id,
    writes: { ...writes, statements: [...writes.statements, refundedTotalStatement(db, order.id)] },
  };
}
