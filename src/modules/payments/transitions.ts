/**
 * The payment state machine, as pure functions of a payment row: what a provider's report does to it. No I/O,
 * so every transition is tested without a database.
 *
 * - requires_action -> authorized | captured | failed | voided
 * - failed -> authorized | captured | voided (the shopper tried again on the same provider payment)
 * - authorized -> captured | voided, or partially_refunded | refunded when a refund's report overtakes the
 *   capture's
 * - captured, partially_refunded -> partially_refunded | refunded (refunded amounts only grow, as reported)
 * - partially_refunded, refunded -> partially_refunded | captured when a refund recorded as returning money is
 *   reported failed or canceled (`planRefundFailure`): its amount comes back off, the one way they shrink
 *
 * `planUpdate` is given a refund report's refunds already less those recorded (settlement.ts): a payment's refunded
 * amount is the sum of its refund rows returning money, so it grows by exactly the refunds the report records.
 *
 * Moves only go forward, so reports arriving late or out of order (webhooks are not ordered) change nothing
 * they should not: an authorization reported after the capture is ignored.
 */
import { type PaymentStatus, RETURNING_REFUND_STATUSES, type RefundStatus } from '../../db/schema';
import type { ProviderUpdate } from './provider';
import type { PaymentRow } from './schemas';

/** Waiting for the shopper: the only states a settlement (the payment becoming usable for its order) leaves. */
export const UNSETTLED: readonly PaymentStatus[] = ['requires_action', 'failed'];
export const CAPTURABLE: readonly PaymentStatus[] = ['authorized'];
export const REFUNDABLE: readonly PaymentStatus[] = ['captured', 'partially_refunded'];
export const VOIDABLE: readonly PaymentStatus[] = ['requires_action', 'failed', 'authorized'];

/** The columns a transition sets, and whether it settles the payment. */
export type PaymentPlan = {
  status: PaymentStatus;
  amountCaptured: number;
  amountRefunded: number;
  failureCode: string | null;
  settles: boolean;
};

/** The status a payment with these amounts has once money went back: all of it, or part. */
export const refundStatus = (amountCaptured: number, amountRefunded: number): PaymentStatus =>
  amountRefunded >= amountCaptured ? 'refunded' : 'partially_refunded';

/** Whether a refund row counts as money gone back: not one reported failed or canceled. */
export const returnsMoney = (refund: { status: RefundStatus }): boolean =>
  (RETURNING_REFUND_STATUSES as readonly RefundStatus[]).includes(refund.status);

/** What a payment's refund rows add up to: its refunded amount. */
export const recordedRefundTotal = (recorded: { status: RefundStatus; amount: number }[]): number =>
  recorded.reduce((sum, refund) => sum + (returnsMoney(refund) ? refund.amount : 0), 0);

/**
 * What a refund of `amount` that returned nothing after all (the provider reports it failed or canceled) does to
 * `row`, whose refunded amount counted it: the amount comes off, and the status says what money is left gone
 * back (`captured` when none). Null when the refund was not recorded as returning money (already failed).
 */
export function planRefundFailure(
  row: PaymentRow,
  refund: { amount: number; status: RefundStatus },
): PaymentPlan | null {
  if (!returnsMoney(refund)) return null;
  const amountRefunded = Math.max(0, row.amountRefunded - refund.amount);
  return {
    status: amountRefunded > 0 ? refundStatus(row.amountCaptured, amountRefunded) : 'captured',
    amountCaptured: row.amountCaptured,
    amountRefunded,
    failureCode: row.failureCode,
    settles: false,
  };
}

/** What `update` does to `row`, or null when it changes nothing (already there, or behind the row). */
export function planUpdate(row: PaymentRow, update: ProviderUpdate): PaymentPlan | null {
  const unsettled = UNSETTLED.includes(row.status);
  const keep = { amountCaptured: row.amountCaptured, amountRefunded: row.amountRefunded, failureCode: null };
  switch (update.status) {
    case 'requires_action':
      return null;
    case 'authorized':
      return unsettled ? { ...keep, status: 'authorized', settles: true } : null;
    case 'captured':
      return unsettled || CAPTURABLE.includes(row.status)
        ? { ...keep, status: 'captured', amountCaptured: update.amountCaptured, settles: unsettled }
        : null;
    case 'failed':
      return row.status === 'requires_action'
        ? { ...keep, status: 'failed', failureCode: update.failureCode, settles: false }
        : null;
    case 'voided':
      return VOIDABLE.includes(row.status) ? { ...keep, status: 'voided', settles: false } : null;
    case 'refunded': {
      // From authorized too: the refund's report may overtake the capture's. Only refunds with no row are news.
      const refundable = CAPTURABLE.includes(row.status) || REFUNDABLE.includes(row.status);
      if (!refundable || update.refunds.length === 0) return null;
      const amountCaptured = Math.max(row.amountCaptured, update.amountCaptured);
      const amountRefunded = row.amountRefunded + update.refunds.reduce((sum, r) => sum + r.amount, 0);
      return {
        ...keep,
        status: refundStatus(amountCaptured, amountRefunded),
        amountCaptured,
        amountRefunded,
        settles: false,
      };
    }
  }
}
