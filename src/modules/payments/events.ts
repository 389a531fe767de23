/**
 * The outbox events payments raise (aggregate `payment`, payload: the payment as `serializePayment` shows it,
 * plus the refund for refund events). A payment raises `payment.<status>` whenever it reaches a status, also at
 * creation; one created waiting for the shopper raises `payment.created`, since `requires_action` is not
 * something that happened.
 */
import type { PaymentStatus } from '../../db/schema';
import { computedEvent, type DomainEvent } from '../../lib/commit';
import { type PaymentRow, type RefundRow, serializePayment, serializeRefund } from './schemas';

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
