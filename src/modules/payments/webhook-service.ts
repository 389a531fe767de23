/**
 * Stripe webhook events, verified and each applied at most once.
 *
 * Acted on (the payment is found by the PaymentIntent id; its state is read from the object, not inferred
 * from the event's name):
 * - `payment_intent.amount_capturable_updated` -> authorized, `payment_intent.succeeded` -> captured,
 *   `payment_intent.payment_failed` -> failed, `payment_intent.canceled` -> voided;
 * - `charge.refunded` -> the charge's cumulative captured and refunded amounts (refunds made in Stripe's
 *   dashboard too).
 * Any other type, or a PaymentIntent that is not one of our payments, is answered 200 `ignored` and not
 * recorded: Stripe stops resending it, and there is nothing to deduplicate.
 *
 * One recorder per change: an event caused by edgecart's own API call (its request's idempotency key is one of
 * ours, provider-keys.ts) reports a change whose call records it, with its events and the order's change, in
 * the caller's batch. Such an event only fills in the state, quietly (no outbox event, no settlement), in case
 * that batch was lost. Every other event (the shopper confirming in Stripe.js, 3-D Secure completing, staff
 * acting in Stripe's dashboard) is recorded in full: payment event, receipt and the order side, through
 * `onPaymentSettled` when it settles the payment and `onPaymentRefunded` when it reports a refund (settlement.ts).
 */
import type { PaymentProviderName } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import type { Database } from '../../lib/db';
import { AppError } from '../../lib/errors';
import { stripeSecret } from './config';
import type { ProviderUpdate } from './provider';
import { madeByEdgecart } from './provider-keys';
import { findPaymentByRef } from './read';
import type { StripeHookResult } from './schemas';
import { type OnPaymentRefunded, type OnPaymentSettled, recordProviderUpdate } from './settlement';
import {
  ChargeSchema,
  EventSchema,
  intentUpdate,
  PaymentIntentSchema,
  type StripeEvent,
} from './stripe-objects';
import { verifyStripeSignature } from './webhook-signature';

const PROVIDER: PaymentProviderName = 'stripe';

const INTENT_EVENTS = new Set([
  'payment_intent.amount_capturable_updated',
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'payment_intent.canceled',
]);

const invalidEvent = () =>
  new AppError(400, 'invalid_event', 'The event is not a Stripe event edgecart can read.');

/** The PaymentIntent an event is about and what it says of it, or null for an event we do not act on. */
function updateOf(event: StripeEvent): { ref: string; update: ProviderUpdate } | null {
  if (INTENT_EVENTS.has(event.type)) {
    const intent = PaymentIntentSchema.safeParse(event.data.object);
    if (!intent.success) throw invalidEvent();
    return { ref: intent.data.id, update: intentUpdate(intent.data) };
  }
  if (event.type === 'charge.refunded') {
    const charge = ChargeSchema.safeParse(event.data.object);
    if (!charge.success) throw invalidEvent();
    if (charge.data.payment_intent === null) return null;
    return {
      ref: charge.data.payment_intent,
      update: {
        status: 'refunded',
        amountCaptured: charge.data.amount_captured,
        amountRefunded: charge.data.amount_refunded,
      },
    };
  }
  return null;
}

export type StripeWebhookInput = {
  /** The request body exactly as received. */
  payload: Uint8Array;
  /** The `Stripe-Signature` header. */
  signature: string | null | undefined;
  /** The order side of a settlement and of a refund made in Stripe (see settlement.ts); src/routes.ts passes them. */
  onPaymentSettled?: OnPaymentSettled;
  onPaymentRefunded?: OnPaymentRefunded;
  /** The clock for the signature's timestamp tolerance, ms since the epoch. */
  now?: number;
};

/**
 * Verifies and applies one delivery.
 *
 * @throws AppError 400 `invalid_signature` (missing, malformed or not matching: one answer for all),
 *   400 `signature_expired` (signed, but more than 300 s from our clock), 400 `invalid_event` (signed, but not
 *   an event of the shape Stripe documents); Error when STRIPE_WEBHOOK_SECRET is not set (a logged 500, so
 *   Stripe keeps the events and retries them once the secret is configured).
 */
export async function receiveStripeWebhook(
  db: Database,
  env: Env,
  caller: Caller,
  input: StripeWebhookInput,
): Promise<StripeHookResult> {
  const secret = stripeSecret(env, 'STRIPE_WEBHOOK_SECRET');
  const verdict = await verifyStripeSignature(
    input.payload,
    input.signature,
    secret,
    input.now ?? Date.now(),
  );
  if (verdict === 'invalid_signature') {
    throw new AppError(400, 'invalid_signature', 'The Stripe-Signature header does not verify.');
  }
  if (verdict === 'signature_expired') {
    throw new AppError(400, 'signature_expired', 'The signature timestamp is outside the allowed tolerance.');
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(input.payload));
  } catch {
    throw invalidEvent();
  }
  const parsed = EventSchema.safeParse(json);
  if (!parsed.success) throw invalidEvent();
  const event = parsed.data;
  const ignored: StripeHookResult = { event_id: event.id, result: 'ignored' };

  const target = updateOf(event);
  if (!target) return ignored;
  const payment = await findPaymentByRef(db, PROVIDER, target.ref);
  if (!payment) return ignored;
  const { outcome } = await recordProviderUpdate(db, caller, payment.id, target.update, {
    via: 'webhook',
    event: { provider: PROVIDER, eventId: event.id, type: event.type },
    quiet: madeByEdgecart(event.request?.idempotency_key),
    onPaymentSettled: input.onPaymentSettled,
    onPaymentRefunded: input.onPaymentRefunded,
  });
  const result = outcome === 'changed' ? 'processed' : outcome === 'duplicate' ? 'duplicate' : 'ignored';
  return { event_id: event.id, result };
}
