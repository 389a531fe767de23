/**
 * The outbox events payments raise (aggregate `payment`, payload: the payment as `serializePayment` shows it,
 * plus the refund for refund events). A payment raises `payment.<status>` whenever it reaches a status, also at
 * creation; one created waiting for the shopper raises `payment.created`, since `requires_action` is not
 * something that happened. Also the audit entry of a payment's change (`paymentAudit`).
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

export function paymentEvent(payment: PaymentRow, refund?: RefundRow): DomainEvent {
  return computedEvent({
    type: paymentEventType(payment.status),
    aggregateType: 'payment',
    aggregateId: payment.id,
    payload: { ...serializePayment(payment), ...(refund && { refund: serializeRefund(refund) }) },
  });
}
