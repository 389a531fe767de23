/**
 * Payments as JSON: the `Payment` and `Refund` shapes other modules embed in their responses (an order's
 * payments, an admin refund), the outbox payload of `payment.*` events, and the Stripe hook's request and
 * answer for the OpenAPI document.
 */
import { z } from '@hono/zod-openapi';
import {
  PAYMENT_PROVIDERS,
  PAYMENT_STATUSES,
  type payments,
  REFUND_STATUSES,
  type refunds,
} from '../../db/schema';
import { Timestamp } from '../../lib/catalog-fields';

export type PaymentRow = typeof payments.$inferSelect;
export type RefundRow = typeof refunds.$inferSelect;

export const PaymentSchema = z
  .object({
    id: z.string().openapi({ example: 'pay_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    order_id: z.string().nullable(),
    cart_id: z.string(),
    provider: z.enum(PAYMENT_PROVIDERS),
    provider_ref: z
      .string()
      .openapi({ description: 'The provider’s id of the payment (Stripe: the PaymentIntent `pi_...`)' }),
    status: z.enum(PAYMENT_STATUSES),
    amount: z.number().int().openapi({ description: 'Authorized amount in minor units', example: 4200 }),
    currency: z.string().openapi({ example: 'EUR' }),
    amount_captured: z.number().int(),
    amount_refunded: z.number().int(),
    failure_code: z
      .string()
      .nullable()
      .openapi({ description: 'Why the last attempt failed (the provider’s code), while `failed`' }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Payment');
export type PaymentJson = z.infer<typeof PaymentSchema>;

export function serializePayment(row: PaymentRow): PaymentJson {
  return {
    id: row.id,
    order_id: row.orderId,
    cart_id: row.cartId,
    provider: row.provider,
    provider_ref: row.providerRef,
    status: row.status,
    amount: row.amount,
    currency: row.currency,
    amount_captured: row.amountCaptured,
    amount_refunded: row.amountRefunded,
    failure_code: row.failureCode,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export const RefundSchema = z
  .object({
    id: z.string().openapi({ example: 'rfd_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    payment_id: z.string(),
    amount: z.number().int(),
    reason: z.string().nullable(),
    provider_ref: z.string(),
    status: z.enum(REFUND_STATUSES),
    created_at: Timestamp,
  })
  .openapi('Refund');
export type RefundJson = z.infer<typeof RefundSchema>;

export function serializeRefund(row: RefundRow): RefundJson {
  return {
    id: row.id,
    payment_id: row.paymentId,
    amount: row.amount,
    reason: row.reason,
    provider_ref: row.providerRef,
    status: row.status,
    created_at: row.createdAt.toISOString(),
  };
}

/**
 * The Stripe event as the document shows it. A plain schema object, not zod: the hook must read the raw body
 * to check its signature before anything parses it, so the route validates nothing itself.
 */
export const STRIPE_EVENT_DOCUMENT = {
  type: 'object' as const,
  description: 'A Stripe event (https://docs.stripe.com/api/events/object), exactly as Stripe sent it',
  required: ['id', 'object', 'type', 'data'],
  properties: {
    id: { type: 'string' as const, example: 'evt_1QExample' },
    object: { type: 'string' as const, enum: ['event'] },
    type: { type: 'string' as const, example: 'payment_intent.amount_capturable_updated' },
    data: {
      type: 'object' as const,
      required: ['object'],
      properties: { object: { type: 'object' as const } },
    },
  },
};

export const StripeHookResultSchema = z
  .object({
    event_id: z.string().openapi({ example: 'evt_1QExample' }),
    result: z.enum(['processed', 'duplicate', 'ignored']).openapi({
      description:
        '`processed`: the event changed a payment. `duplicate`: it already had. `ignored`: it changes nothing ' +
        'here (a type edgecart does not act on, a payment it does not know, or news the payment is past)',
    }),
  })
  .openapi('StripeHookResult');
export type StripeHookResult = z.infer<typeof StripeHookResultSchema>;
