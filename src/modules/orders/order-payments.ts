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
 * the provider's first refund even when the order changed in between (another action moved its version).
 */
import { and, eq, type SQL, sql } from 'drizzle-orm';
import { orders, payments } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import type { Database } from '../../lib/db';
import { conflict } from '../../lib/errors';
import type { IdempotencyClaim } from '../../lib/idempotency';
import { paymentsOfOrder, refundsOfPayment } from '../payments/read';
import type { PaymentRow } from '../payments/schemas';
import {
  capturePayment,
  type PaymentWrites,
  recordedRefundTotal,
  refundedWith,
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

/**
 * The order's refunded total as its payments say, set in the same batch as a refund's payment writes. A
 * provider's report is recorded by an UPDATE that comes after the order side's statements, so `reported` counts
 * its payment at the refunded amount the report sets; `guard` is the order change's `won`.
 */
export function refundedTotalStatement(
  db: Database,
  orderId: string,
  reported?: { paymentId: string; amountRefunded: number; guard: SQL },
) {
  const amount = reported
    ? sql`CASE WHEN ${payments.id} = ${reported.paymentId} THEN ${reported.amountRefunded} ELSE ${payments.amountRefunded} END`
    : sql`${payments.amountRefunded}`;
  return db
    .update(orders)
    .set({
      refundedTotal: sql`(SELECT coalesce(sum(${amount}), 0) FROM ${payments} WHERE ${payments.orderId} = ${orderId})`,
    })
    .where(and(eq(orders.id, orderId), reported?.guard));
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

/** Cancel: void what is only authorized or pending, refund what was captured. */
export async function releasePaymentForCancel(
  db: Database,
  env: Env,
  caller: Caller,
  order: OrderRow,
): Promise<PaymentWrites | null> {
  const payment = await activePayment(db, order.id);
  if (!payment) return null;
  if (VOIDABLE.includes(payment.status)) {
    const { writes } = await voidPayment(db, env, caller, {
      paymentId: payment.id,
      idempotencyKey: keyOf(order, 'cancel'),
    });
    return writes;
  }
  const refundable = payment.amountCaptured - payment.amountRefunded;
  if (!REFUNDABLE.includes(payment.status) || refundable === 0) return null;
  const { writes } = await refundPayment(db, env, caller, {
    paymentId: payment.id,
    amount: refundable,
    reason: 'order canceled',
    idempotencyKey: keyOf(order, 'cancel'),
  });
  return { ...writes, statements: [...writes.statements, refundedTotalStatement(db, order.id)] };
}

/** How much of the order can still be refunded, and from which payment; 409 when nothing was captured. */
export async function refundableOf(
  db: Database,
  order: OrderRow,
  request?: IdempotencyClaim,
): Promise<{ payment: PaymentRow; refundable: number }> {
  const payment = await activePayment(db, order.id);
  if (!payment || !REFUNDABLE.includes(payment.status)) {
    throw conflict(
      'nothing_to_refund',
      'Nothing has been charged for this order yet (payment is taken at the first fulfilment); cancel it instead.',
    );
  }
  // A request with a key may be the retry of a refund the provider made already (see refundForOrder): only the
  // recorded refunds count against it, as the payments service counts them.
  const refunded = request
    ? recordedRefundTotal(await refundsOfPayment(db, payment.id))
    : payment.amountRefunded;
  return { payment, refundable: payment.amountCaptured - refunded };
}

/** Refunds `amount` of the order's payment; the writes also bring the order's refunded total up to date. */
export async function refundForOrder(
  db: Database,
  env: Env,
  caller: Caller,
  order: OrderRow,
  refund: { paymentId: string; amount: number; reason: string | null },
  request?: IdempotencyClaim,
): Promise<{ refundId: string; writes: PaymentWrites }> {
  const idempotencyKey = request
    ? `order:${order.id}:request:${request.scope}\n${request.key}:refund:${refund.amount}`
    : keyOf(order, `refund:${refund.amount}`);
  const { refund: row, writes } = await refundPayment(db, env, caller, {
    ...refund,
    idempotencyKey,
    repeatsRequest: request !== undefined,
  });
  return {
    refundId: row.id,
    writes: { ...writes, statements: [...writes.statements, refundedTotalStatement(db, order.id)] },
  };
}

/**
 * The order's refunded total once its refund of `adding` from `paymentId` is recorded (`refundId` when its row may
 * be there already, after a lost race): that payment at the larger of what it says and its refund rows with it, as
 * the refund's batch sets it; the others as they are.
 */
export async function refundedTotalWith(
  db: Database,
  orderId: string,
  paymentId: string,
  adding: number,
  refundId?: string,
): Promise<number> {
  let total = 0;
  for (const payment of await paymentsOfOrder(db, orderId)) {
    if (payment.id !== paymentId) {
      total += payment.amountRefunded;
      continue;
    }
    const recorded = await refundsOfPayment(db, payment.id);
    const counted = recorded.some((refund) => refund.id === refundId);
    total += refundedWith(payment, recorded, counted ? 0 : adding);
  }
  return total;
}

/**
 * What the order's payments have returned so far, as D1 says now, counting a provider's report at the refunded
 * amount it sets (as `refundedTotalStatement` does).
 */
export async function refundedSoFar(
  db: Database,
  orderId: string,
  reported?: { paymentId: string; amountRefunded: number },
): Promise<number> {
  const rows = await paymentsOfOrder(db, orderId);
  return rows.reduce(
    (sum, p) => sum + (p.id === reported?.paymentId ? reported.amountRefunded : p.amountRefunded),
    0,
  );
}
