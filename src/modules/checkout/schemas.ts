/** What checkout takes and answers. */
import { z } from '@hono/zod-openapi';
import { PAYMENT_PROVIDERS, PAYMENT_STATUSES } from '../../db/schema';
import { StoreOrderSchema } from '../orders/schemas';

export const CheckoutBody = z
  .object({
    provider: z.enum(PAYMENT_PROVIDERS).optional().openapi({
      description: 'The store’s default provider when left out (the first of PAYMENT_PROVIDERS)',
    }),
    payment_method: z.string().min(1).max(255).optional().openapi({
      description:
        'Stripe: a PaymentMethod id (`pm_...`) to confirm at once; without one the order waits for Stripe.js',
      example: 'pm_card_visa',
    }),
  })
  .strict()
  .openapi('Checkout');
export type CheckoutInput = z.infer<typeof CheckoutBody>;

export const CheckoutPaymentSchema = z
  .object({
    id: z.string().openapi({ example: 'pay_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    provider: z.enum(PAYMENT_PROVIDERS),
    status: z.enum(PAYMENT_STATUSES),
    client_secret: z.string().nullable().openapi({
      description: 'Stripe: hand to Stripe.js to confirm the payment (the order is pending_payment)',
    }),
  })
  .openapi('CheckoutPayment');

export const CheckoutResultSchema = z
  .object({
    order: StoreOrderSchema,
    order_token: z
      .string()
      .optional()
      .openapi({ description: 'Guests only: send as `X-Order-Token` to read the order; shown only here' }),
    payment: CheckoutPaymentSchema.nullable().openapi({ description: 'Null when the order costs nothing' }),
  })
  .openapi('CheckoutResult');
export type CheckoutResult = z.infer<typeof CheckoutResultSchema>;
