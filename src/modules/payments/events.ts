/**
 * The outbox events payments raise (aggregate `payment`, payload: the payment as `serializePayment` shows it,
 * plus the refund for refund events). A payment raises `payment.<status>` whenever it reaches a status, also at
 * creation; one created waiting for the shopper raises `payment.created`, since `requires_action` is not
 * something that happened; a refund reported failed or canceled raises `payment.refund_failed` instead, whatever
 * status the payment goes back to. Also the audit entry of a payment's change (`paymentAudit`).
 */
import { type PaymentStatus, payments } from '../../db/schema';
import { type AuditRecord, computedEvent, type DomainEvent } from '../../lib/commit';
import { rowChanges } from '../../lib/row-changes';
import { type PaymentRow, type RefundRow, serializePayment, serializeRefund } from './schemas';

/** The audit entry of a change of a payment from `before` to `after` (`action`: `payment.capture`, ...). */
export const paymentAudit = (
  action: string,
  before: PaymentRow,
  after: PaymentRow,
  extra = {},
): AuditRecord => ({
  action,
  targetType: 'payment',
  targetId: before.id,
  changes: { ...extra, row: rowChanges(payments, before, after) },
});

export const paymentEventType = (status: PaymentStatus) =>
  status === 'requires_action' ? 'payment.created' : `payment.${status}`;

/**
 * `payment.refund_failed`: a refund recorded as returning money that the provider reports failed or canceled
 * (`refund`, with the provider's `failure_reason`); the payment as it is once the amount came back off it.
 */
export function refundFailedEvent(
  payment: PaymentRow,
  refund: RefundRow,
  failureReason: string | null,
): DomainEvent {
  return computedEvent({
    type: 'payment.refund_failed',
    aggregateType: 'payment',
    aggregateId: payment.id,
    payload: {
      ...serializePayment(payment),
      refund: { ...serializeRefund(refund), failure_reason: failureReason },
    },
  });
}

export function paymentEvent(payment: PaymentRow, refund?: RefundRow): DomainEvent {
  return computedEvent({
    type: paymentEventType(payment.status),
    aggregateType: 'payment',
    aggregateId: payment.id,
    payload: { ...serializePayment(payment), ...(refund && { refund: serializeRefund(refund) }) },
  });
}
