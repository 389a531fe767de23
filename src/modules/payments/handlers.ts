/**
 * POST /v1/hooks/stripe. The only credential is the signature, checked by the service over the raw body, so
 * the handler hands over the bytes as received. Events are recorded as the system actor `stripe-webhook`.
 */
import { anonymousCaller } from '../../auth/caller';
import { actingAs } from '../../lib/caller';
import { createDb } from '../../lib/db';
import { createRouter } from '../../lib/openapi';
import * as routes from './routes';
import type {
  OnPaymentRefunded,
  OnPaymentRefundFailed,
  OnPaymentSettled,
  OnPaymentVoided,
} from './settlement';
import { receiveStripeWebhook } from './webhook-service';

/**
 * The hooks router; the callbacks add the order side to a settling, refunding, voiding or refund-failing batch (src/routes.ts
 * wires them).
 */
export function stripeHooksRouter(
  options: {
    onPaymentSettled?: OnPaymentSettled;
    onPaymentRefunded?: OnPaymentRefunded;
    onPaymentVoided?: OnPaymentVoided;
    onPaymentRefundFailed?: OnPaymentRefundFailed;
  } = {},
) {
  return createRouter().openapi(routes.receiveStripeEvent, async (c) => {
    const caller = actingAs(anonymousCaller(c), { type: 'system', id: 'stripe-webhook' });
    const result = await receiveStripeWebhook(createDb(c.env.DB), c.env, caller, {
      payload: new Uint8Array(await c.req.arrayBuffer()),
      signature: c.req.header('Stripe-Signature'),
      onPaymentSettled: options.onPaymentSettled,
      onPaymentRefunded: options.onPaymentRefunded,
      onPaymentVoided: options.onPaymentVoided,
      onPaymentRefundFailed: options.onPaymentRefundFailed,
    });
    return c.json(result, 200);
  });
}
