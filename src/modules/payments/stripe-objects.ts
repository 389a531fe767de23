/**
 * The parts of Stripe's objects edgecart reads (PaymentIntent, Charge, Refund, error bodies, events), as zod
 * schemas, and what a PaymentIntent's or Charge's state means for a payment. Shared by the API client and the
 * webhook, which receive the same objects. Unknown fields are ignored; a missing field we read is an invalid
 * response, never a guess. Amounts come out in edgecart's minor units (stripe-amounts.ts).
 */
import { z } from 'zod';
import type { ProviderUpdate } from './provider';
import { fromStripeAmount } from './stripe-amounts';

export const PaymentIntentSchema = z
  .object({
    id: z.string().min(1),
    object: z.literal('payment_intent'),
    status: z.enum([
      'requires_payment_method',
      'requires_confirmation',
      'requires_action',
      'processing',
      'requires_capture',
      'succeeded',
      'canceled',
    ]),
    amount: z.number().int(),
    amount_received: z.number().int(),
    currency: z.string(),
    client_secret: z.string().nullish(),
    last_payment_error: z
      .object({ code: z.string().nullish(), decline_code: z.string().nullish() })
      .nullish(),
  })
  .transform((intent) => ({
    ...intent,
    amount: fromStripeAmount(intent.amount, intent.currency),
    amount_received: fromStripeAmount(intent.amount_received, intent.currency),
  }));
export type PaymentIntent = z.infer<typeof PaymentIntentSchema>;

export const ChargeSchema = z
  .object({
    id: z.string().min(1),
    object: z.literal('charge'),
    payment_intent: z.string().nullable(),
    amount_captured: z.number().int(),
    amount_refunded: z.number().int(),
    currency: z.string(),
  })
  .transform((charge) => ({
    ...charge,
    amount_captured: fromStripeAmount(charge.amount_captured, charge.currency),
    amount_refunded: fromStripeAmount(charge.amount_refunded, charge.currency),
  }));

export const StripeRefundSchema = z.object({
  id: z.string().min(1),
  object: z.literal('refund'),
  amount: z.number().int(),
  currency: z.string(),
  /** Documented nullable: a refund whose status Stripe does not state. */
  status: z.string().nullable(),
  /** Documented nullable: a refund nobody set metadata on, so not one of edgecart's. */
  metadata: z.record(z.string(), z.string()).nullable(),
  /** The PaymentIntent refunded; null for a refund of a charge made without one. */
  payment_intent: z.string().nullish(),
  /** Why a `failed` refund failed (`insufficient_funds`, `expired_or_canceled_card`, ...). */
  failure_reason: z.string().nullish(),
});

export type StripeRefund = z.infer<typeof StripeRefundSchema>;

/**
 * Set on every refund edgecart creates, so a refund without it is known to be one made in Stripe's dashboard (a
 * Refund carries no trace of the request that made it). Constant, so a retried call sends the same.
 * `EDGECART_REFUND_KEY` carries the call's idempotency key: the request's retry and the report of the refund
 * find the same refund row by it.
 */
export const EDGECART_REFUND = { key: 'edgecart', value: 'refund' } as const;
export const EDGECART_REFUND_KEY = 'edgecart_key';

/**
 * Whose `refund` is, by its metadata: `ours` when edgecart made it, with `key`, its call's idempotency key, and
 * `reason`, staff's note sent with it.
 */
export function refundOrigin(refund: StripeRefund): {
  ours: boolean;
  key: string | null;
  reason: string | null;
} {
  const ours = refund.metadata?.[EDGECART_REFUND.key] === EDGECART_REFUND.value;
  return {
    ours,
    key: refund.metadata?.[EDGECART_REFUND_KEY] ?? null,
    reason: ours ? (refund.metadata?.reason ?? null) : null,
  };
}

/** A page of `GET /v1/refunds`: https://docs.stripe.com/api/refunds/list */
export const RefundListSchema = z.object({
  object: z.literal('list'),
  data: z.array(StripeRefundSchema),
  has_more: z.boolean(),
});

/** Stripe's error body (any non-2xx): https://docs.stripe.com/api/errors */
export const ErrorBodySchema = z.object({
  error: z.object({
    type: z.string(),
    code: z.string().nullish(),
    decline_code: z.string().nullish(),
    /** The request parameter the error is about, when it is about one (`payment_method`, `amount`). */
    param: z.string().nullish(),
    payment_intent: z.object({ id: z.string() }).nullish(),
  }),
});
export type StripeError = z.infer<typeof ErrorBodySchema>['error'];

/** A webhook event: https://docs.stripe.com/api/events/object */
export const EventSchema = z.object({
  id: z.string().min(1),
  object: z.literal('event'),
  type: z.string(),
  data: z.object({ object: z.record(z.string(), z.unknown()) }),
  /** The API request that caused the event; null for events Stripe raised on its own. */
  request: z.object({ id: z.string().nullish(), idempotency_key: z.string().nullish() }).nullish(),
});
export type StripeEvent = z.infer<typeof EventSchema>;

/** Why an attempt failed: the decline code when there is one (`insufficient_funds`), else the error code. */
export function failureCodeOf(error: { code?: string | null; decline_code?: string | null }): string | null {
  return error.decline_code ?? error.code ?? null;
}

/** What a PaymentIntent's status means for the payment it backs. */
export function intentUpdate(intent: PaymentIntent): ProviderUpdate {
  switch (intent.status) {
    case 'requires_capture':
      return { status: 'authorized' };
    case 'succeeded':
      return { status: 'captured', amountCaptured: intent.amount_received };
    case 'canceled':
      return { status: 'voided' };
    case 'requires_payment_method':
      // A PaymentIntent returns to requires_payment_method when an attempt fails; before any attempt it has
      // no last_payment_error and is simply waiting for the shopper.
      return intent.last_payment_error
        ? { status: 'failed', failureCode: failureCodeOf(intent.last_payment_error) }
        : { status: 'requires_action' };
    default:
      // requires_confirmation, requires_action (3-D Secure), processing: the shopper or the bank is still at it.
      return { status: 'requires_action' };
  }
}
