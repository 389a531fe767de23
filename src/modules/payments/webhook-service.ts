/**
 * Stripe webhook events, verified and each applied at most once.
 *
 * Acted on (the payment is found by the PaymentIntent id; its state is read from the object, not inferred
 * from the event's name):
 * - `payment_intent.amount_capturable_updated` -> authorized, `payment_intent.succeeded` -> captured,
 *   `payment_intent.payment_failed` -> failed, `payment_intent.canceled` -> voided;
 * - `charge.refunded` -> the charge's captured amount, and each refund Stripe lists returning money, recorded once
 *   as a refund row keyed by Stripe's refund id (settlement.ts: one made in Stripe's dashboard with its order's
 *   side, one of edgecart's, marked in its metadata with its request's key, for that request's batch to claim). The
 *   event's Charge no longer lists its refunds (API version 2022-11-15 on), so they are listed from Stripe
 *   (`GET /v1/refunds`).
 * - `charge.refund.updated`, `refund.updated`, `refund.failed` carrying a Refund `failed` or `canceled`: a refund
 *   recorded as returning money (edgecart's, or one from the dashboard) returned nothing after all
 *   (refund-failure.ts). The payment is found by the Refund's PaymentIntent, the row by Stripe's refund id; any
 *   other status of the Refund is `ignored`. Never quiet: no edgecart call records a refund's failure.
 * Any other type, or a PaymentIntent that is not one of our payments, is answered 200 `ignored` and not
 * recorded: Stripe stops resending it, and there is nothing to deduplicate.
 *
 * One recorder per change: an event caused by edgecart's own API call (its request's idempotency key is one of
 * ours, provider-keys.ts) reports a change whose call records it, with its events and the order's change, in
 * the caller's batch. Such an event only fills in the state, quietly (no settlement; an event and an audit entry
 * only for a capture or void it records first, settlement.ts), in case that batch was lost or comes later; a refund
 * report is quiet by what it records, not by its cause (settlement.ts). Every
 * other event (the shopper confirming in Stripe.js, 3-D Secure completing, staff
 * acting in Stripe's dashboard, the authorization expiring) is recorded in full: payment event, receipt and the
 * order side, through `onPaymentSettled` when it settles the payment, `onPaymentRefunded` when it reports a refund,
 * `onPaymentVoided` when it reports the payment voided (settlement.ts) and `onPaymentRefundFailed` when it reports
 * a refund failed (refund-failure.ts).
 */
import type { PaymentProviderName } from '../../db/schema';
import { type Caller, callerLogger } from '../../lib/caller';
import type { Database } from '../../lib/db';
import { AppError } from '../../lib/errors';
import { stripeSecret } from './config';
import { PaymentUnavailable } from './errors';
import { type ProviderRefund, ProviderRejected, type ProviderUpdate } from './provider';
import { madeByEdgecart } from './provider-keys';
import { paymentProvider } from './providers';
import { eventRecorded, findPaymentByRef } from './read';
import { type RefundFailure, recordRefundFailure } from './refund-failure';
import type { StripeHookResult } from './schemas';
import {
  type OnPaymentRefunded,
  type OnPaymentRefundFailed,
  type OnPaymentSettled,
  type OnPaymentVoided,
  recordProviderUpdate,
} from './settlement';
import { fromStripeAmount } from './stripe-amounts';
import {
  ChargeSchema,
  EventSchema,
  intentUpdate,
  PaymentIntentSchema,
  refundOrigin,
  type StripeEvent,
  StripeRefundSchema,
} from './stripe-objects';
import { verifyStripeSignature } from './webhook-signature';

const PROVIDER: PaymentProviderName = 'stripe';

const INTENT_EVENTS = new Set([
  'payment_intent.amount_capturable_updated',
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'payment_intent.canceled',
]);

/** The events carrying a Refund whose status changed; the legacy `charge.refund.updated` and its successors. */
const REFUND_EVENTS = new Set(['charge.refund.updated', 'refund.updated', 'refund.failed']);

const invalidEvent = () =>
  new AppError(400, 'invalid_event', 'The event is not a Stripe event edgecart can read.');

/** A Charge's cumulative amounts, as `charge.refunded` carries them. */
type ChargeRefunded = { amountCaptured: number; amountRefunded: number };

/**
 * The PaymentIntent an event is about and what it says of it (a Charge's amounts, whose refunds are listed
 * before they are recorded), or null for an event we do not act on.
 */
function reportOf(
  event: StripeEvent,
): { ref: string; update: ProviderUpdate } | { ref: string; charge: ChargeRefunded } | null {
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
      charge: { amountCaptured: charge.data.amount_captured, amountRefunded: charge.data.amount_refunded },
    };
  }
  return null;
}

/**
 * The PaymentIntent a Refund event is about and the failure it reports, or null when it reports none (a refund
 * pending, succeeded or waiting for the customer: nothing to undo) or is of a charge without a PaymentIntent.
 */
function refundFailureOf(event: StripeEvent): { ref: string; failure: RefundFailure } | null {
  const refund = StripeRefundSchema.safeParse(event.data.object);
  if (!refund.success) throw invalidEvent();
  const { id, status, payment_intent: ref, failure_reason: failureReason } = refund.data;
  if (!ref || (status !== 'failed' && status !== 'canceled')) return null;
  const { ours } = refundOrigin(refund.data);
  // As a failed refund is read in a listing (stripe-amounts.ts), so both name the same amount.
  const amount = fromStripeAmount(refund.data.amount, refund.data.currency, 'up');
  return { ref, failure: { providerRef: id, amount, ours, status, failureReason: failureReason ?? null } };
}

/** Retry-After of a refused listing; Stripe keeps its own schedule, and the key must be fixed first anyway. */
const REFUSED_LISTING_RETRY_MS = 60_000;
/** Retry-After of a listing that has not caught up with the event yet (Stripe's lists can lag its events). */
const LISTING_BEHIND_RETRY_MS = 10_000;

/**
 * Every refund of the PaymentIntent, as Stripe lists them. A refusal (a restricted key without read access to
 * refunds, say) is a logged 503 as much as no answer is: Stripe delivers the event again, for days, so it is
 * applied once the key is fixed, and the webhook documents no other server error.
 */
async function listedRefunds(env: Env, caller: Caller, ref: string): Promise<ProviderRefund[]> {
  const logger = callerLogger(caller);
  try {
    return await paymentProvider(env, PROVIDER, logger).refunds(ref);
  } catch (error) {
    if (!(error instanceof ProviderRejected)) throw error;
    logger.error('stripe refused to list refunds', {
      status: error.status,
      provider_code: error.providerCode,
    });
    throw new PaymentUnavailable(PROVIDER, 'rejected', REFUSED_LISTING_RETRY_MS);
  }
}

/**
 * The refund report of `charge`: every refund Stripe lists returning money, edgecart's and those made in its
 * dashboard (the event may be older than the list, which then holds more).
 */
async function refundReport(
  env: Env,
  caller: Caller,
  ref: string,
  charge: ChargeRefunded,
): Promise<ProviderUpdate> {
  const listed = await listedRefunds(env, caller, ref);
  // Every refund the event counts is listed, failed ones too once they fail: a list short of the event's amount
  // has not caught up with it. Recording it now would miss the refund for good (this event is not sent again once
  // answered), so it is a 503, and Stripe delivers the event again.
  if (listed.reduce((sum, r) => sum + r.amount, 0) < charge.amountRefunded) {
    callerLogger(caller).warn(
      'stripe lists fewer refunds than its event reports; asking for the event again',
      {
        listed: listed.length,
      },
    );
    throw new PaymentUnavailable(PROVIDER, 'behind', LISTING_BEHIND_RETRY_MS);
  }
  // Stripe lists the newest first; recorded in the order they were made.
  const returning = listed.flatMap((r) => (r.status === 'failed' ? [] : [{ ...r, status: r.status }]));
  return { status: 'refunded', amountCaptured: charge.amountCaptured, refunds: returning.reverse() };
}

export type StripeWebhookInput = {
  /** The request body exactly as received. */
  payload: Uint8Array;
  /** The `Stripe-Signature` header. */
  signature: string | null | undefined;
  /**
   * The order side of a settlement, of a refund made in Stripe and of an authorization Stripe canceled (see
   * settlement.ts); src/routes.ts passes them.
   */
  onPaymentSettled?: OnPaymentSettled;
  onPaymentRefunded?: OnPaymentRefunded;
  onPaymentVoided?: OnPaymentVoided;
  onPaymentRefundFailed?: OnPaymentRefundFailed;
  /** The clock for the signature's timestamp tolerance, ms since the epoch. */
  now?: number;
};

/**
 * Verifies and applies one delivery.
 *
 * @throws AppError 400 `invalid_signature` (missing, malformed or not matching: one answer for all),
 *   400 `signature_expired` (signed, but more than 300 s from our clock), 400 `invalid_event` (signed, but not
 *   an event of the shape Stripe documents); PaymentUnavailable (503) when Stripe does not answer or refuses the
 *   listing of a charge's refunds, or reports the failure of an edgecart refund not recorded yet (Stripe delivers the event
 *   again later); Error when STRIPE_WEBHOOK_SECRET is not set (a logged 500, so Stripe keeps the events and retries them once the secret is configured).
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

  if (REFUND_EVENTS.has(event.type)) return receiveRefundFailure(db, caller, event, input);
  const target = reportOf(event);
  if (!target) return ignored;
  const payment = await findPaymentByRef(db, PROVIDER, target.ref);
  if (!payment) return ignored;
  // A redelivery is answered from its receipt before Stripe is asked anything: Stripe may be down.
  if (await eventRecorded(db, PROVIDER, event.id)) return { event_id: event.id, result: 'duplicate' };
  const update =
    'charge' in target ? await refundReport(env, caller, target.ref, target.charge) : target.update;
  const { outcome } = await recordProviderUpdate(db, env, caller, payment.id, update, {
    via: 'webhook',
    event: { provider: PROVIDER, eventId: event.id, type: event.type },
    quiet: madeByEdgecart(event.request?.idempotency_key),
    onPaymentSettled: input.onPaymentSettled,
    onPaymentRefunded: input.onPaymentRefunded,
    onPaymentVoided: input.onPaymentVoided,
  });
  const result = outcome === 'changed' ? 'processed' : outcome === 'duplicate' ? 'duplicate' : 'ignored';
  return { event_id: event.id, result };
}

/** A Refund event: the failure of a refund recorded as returning money, applied once (refund-failure.ts). */
async function receiveRefundFailure(
  db: Database,
  caller: Caller,
  event: StripeEvent,
  input: StripeWebhookInput,
): Promise<StripeHookResult> {
  const target = refundFailureOf(event);
  const payment = target && (await findPaymentByRef(db, PROVIDER, target.ref));
  if (!target || !payment) return { event_id: event.id, result: 'ignored' };
  const outcome = await recordRefundFailure(db, caller, payment.id, target.failure, {
    via: 'webhook',
    event: { provider: PROVIDER, eventId: event.id, type: event.type },
    onPaymentRefundFailed: input.onPaymentRefundFailed,
  });
  return { event_id: event.id, result: outcome === 'changed' ? 'processed' : 'duplicate' };
}
