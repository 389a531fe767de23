/**
 * The `stripe` provider: PaymentIntents with `capture_method=manual`, so authorizing holds the funds and a
 * separate capture takes them (an authorization nobody captures is released by Stripe after about a week, so
 * a payment whose order was never written never becomes a charge). `automatic_payment_methods[enabled]=true`
 * lets the storefront offer whatever the Stripe account has switched on.
 *
 * Without a payment method, `authorize` creates the PaymentIntent and returns its client secret: the shopper
 * confirms in the storefront with Stripe.js, and the webhook (or the storefront's confirmation) records the
 * authorization. With one, it confirms at once, server-side; redirect-based methods are then excluded
 * (`allow_redirects=never`), since there is no page to return to. A card error (HTTP 402), an amount Stripe
 * will not charge, or a payment method it refuses (one it does not know: a typo, another account's, a detached
 * one), is a decline; any other refusal is `ProviderRejected`. Amounts cross in Stripe's units (stripe-amounts.ts).
 */

import type { z } from 'zod';
import {
  AMOUNT_NOT_CHARGEABLE,
  ATTEMPTS_EXHAUSTED,
  type AuthorizeResult,
  IDEMPOTENCY_ERROR,
  IDEMPOTENCY_KEY_IN_USE,
  type Money,
  type PaymentProvider,
  type ProviderRefund,
  ProviderRejected,
  ProviderUnreachable,
  type RefundResult,
} from './provider';
import { fromStripeRefunds, toStripeAmount } from './stripe-amounts';
import { type FormParams, type StripeAnswer, type StripeCall, stripeRequest } from './stripe-api';
import {
  EDGECART_REFUND,
  EDGECART_REFUND_KEY,
  ErrorBodySchema,
  failureCodeOf,
  intentUpdate,
  type PaymentIntent,
  PaymentIntentSchema,
  RefundListSchema,
  refundOrigin,
  type StripeError,
  StripeRefundSchema,
} from './stripe-objects';

/**
 * Invalid-request codes that mean "this amount cannot be charged", which the shopper can act on; the last is
 * Stripe's refusal of an amount its currency cannot state (ISK in fractions of a króna).
 */
const AMOUNT_DECLINES = new Set([
  'amount_too_small',
  'amount_too_large',
  'invalid_charge_amount_no_decimal_compatible',
]);

/**
 * `money` as Stripe's amount; a refusal (`AMOUNT_NOT_CHARGEABLE`) when Stripe cannot state it, before anything is
 * sent. An authorization it cannot state is a decline instead, like any amount Stripe will not charge.
 */
function stripeAmount({ amount, currency }: Money): number {
  const stated = toStripeAmount(amount, currency);
  if (stated === null) throw new ProviderRejected(400, AMOUNT_NOT_CHARGEABLE);
  return stated;
}

/**
 * Whether Stripe's refusal of an authorization is a decline: something the shopper can change (card, amount,
 * payment method) rather than a bug or a misconfiguration of ours. A refused `payment_method` is the shopper's
 * input (Stripe answers 400 `resource_missing` for one it does not know), so it must not become a 500.
 */
function isDecline(status: number, error: StripeError): boolean {
  return (
    (status === 402 && error.type === 'card_error') ||
    (error.code != null && AMOUNT_DECLINES.has(error.code)) ||
    error.param === 'payment_method'
  );
}

/** Stripe's refund statuses as edgecart records them; `failed` and `canceled` are refused refunds. */
const REFUND_STATUSES: Record<string, RefundResult['status']> = {
  succeeded: 'succeeded',
  pending: 'pending',
  requires_action: 'pending',
};

/** A refund's status as edgecart records it; one Stripe does not state (null) is not known to return money. */
const refundStatusOf = (status: string | null): RefundResult['status'] =>
  (status === null ? undefined : REFUND_STATUSES[status]) ?? 'failed';

const intentPath = (ref: string, action = '') => `/payment_intents/${encodeURIComponent(ref)}${action}`;

/** Most refunds Stripe lists per page (its maximum). */
const REFUND_PAGE = 100;

/** The body of a 2xx answer as `schema`, or ProviderUnreachable: Stripe promised this shape. */
function parsed<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const result = schema.safeParse(body);
  if (!result.success) throw new ProviderUnreachable('invalid_response', 'stripe: unexpected response body');
  return result.data;
}

/** A 4xx answer as the error it is. */
function rejection(answer: StripeAnswer): ProviderRejected {
  const error = ErrorBodySchema.safeParse(answer.body);
  if (!error.success) return new ProviderRejected(answer.status, null);
  // An idempotency error may come without a code: a key replayed with other parameters (400), or while another
  // request with it is in flight (409).
  const { code, type } = error.data.error;
  if (code || type !== IDEMPOTENCY_ERROR) return new ProviderRejected(answer.status, code ?? null);
  return new ProviderRejected(
    answer.status,
    answer.status === 409 ? IDEMPOTENCY_KEY_IN_USE : IDEMPOTENCY_ERROR,
  );
}

/**
 * Authorizations one request tries at most: each earlier attempt whose order was never written voided its own
 * PaymentIntent, and the next one's key names it. Past that, the request is refused (ATTEMPTS_EXHAUSTED): a
 * checkout sent again under a new Idempotency-Key starts afresh.
 */
const MAX_AUTHORIZE_ATTEMPTS = 5;

/** What a PaymentIntent an authorization made (or found) means for the checkout. */
function authorizeResult(intent: PaymentIntent): AuthorizeResult {
  const update = intentUpdate(intent);
  switch (update.status) {
    case 'authorized':
    case 'captured':
      return { status: update.status, providerRef: intent.id };
    case 'requires_action':
      return {
        status: 'requires_action',
        providerRef: intent.id,
        clientSecret: intent.client_secret ?? undefined,
      };
    case 'failed':
      return { status: 'declined', providerRef: intent.id, declineCode: update.failureCode };
    default:
      return { status: 'declined', providerRef: intent.id, declineCode: null };
  }
}

export function stripeProvider(secretKey: string): PaymentProvider {
  const send = (call: StripeCall, signal: AbortSignal) => stripeRequest(secretKey, call, signal);
  const intent = async (call: StripeCall, signal: AbortSignal): Promise<PaymentIntent> => {
    const answer = await send(call, signal);
    if (answer.status >= 400) throw rejection(answer);
    return parsed(PaymentIntentSchema, answer.body);
  };

  return {
    name: 'stripe',

    async authorize(request, signal) {
      const amount = toStripeAmount(request.amount, request.currency);
      if (amount === null)
        return { status: 'declined', providerRef: null, declineCode: AMOUNT_NOT_CHARGEABLE };
      const params: FormParams = {
        amount,
        currency: request.currency.toLowerCase(),
        capture_method: 'manual',
        automatic_payment_methods: request.paymentMethod
          ? { enabled: true, allow_redirects: 'never' }
          : { enabled: true },
        metadata: request.metadata,
        receipt_email: request.email,
        payment_method: request.paymentMethod,
        confirm: request.paymentMethod ? true : undefined,
      };
      let idempotencyKey = request.idempotencyKey;
      for (let attempt = 1; ; attempt++) {
        const answer = await send(
          { method: 'POST', path: '/payment_intents', params, idempotencyKey },
          signal,
        );
        if (answer.status >= 400) {
          const error = ErrorBodySchema.safeParse(answer.body);
          const body = error.success ? error.data.error : undefined;
          if (!body || !isDecline(answer.status, body)) throw rejection(answer);
          return {
            status: 'declined',
            providerRef: body.payment_intent?.id ?? null,
            declineCode: failureCodeOf(body),
          };
        }
        // A replay is the first answer as it was then; the PaymentIntent may have moved since. The one that
        // matters: an earlier attempt whose order was never written voided it, so the retry must authorize anew.
        const created = parsed(PaymentIntentSchema, answer.body);
        const now = answer.replayed
          ? await intent({ method: 'GET', path: intentPath(created.id) }, signal)
          : created;
        if (now.status !== 'canceled') return authorizeResult(now);
        // Not a decline (the card was never refused) and not Stripe failing (its circuit must stay closed).
        if (attempt === MAX_AUTHORIZE_ATTEMPTS) throw new ProviderRejected(409, ATTEMPTS_EXHAUSTED);
        idempotencyKey = `${request.idempotencyKey}:after:${now.id}`;
      }
    },

    async capture(ref, money, idempotencyKey, signal) {
      const captured = await intent(
        {
          method: 'POST',
          path: intentPath(ref, '/capture'),
          params: { amount_to_capture: stripeAmount(money) },
          idempotencyKey,
        },
        signal,
      );
      if (captured.status !== 'succeeded') {
        throw new ProviderUnreachable('invalid_response', `stripe capture left status ${captured.status}`);
      }
      return { amountCaptured: captured.amount_received };
    },

    async refund(ref, money, reason, idempotencyKey, signal) {
      const answer = await send(
        {
          method: 'POST',
          path: '/refunds',
          params: {
            payment_intent: ref,
            amount: stripeAmount(money),
            metadata: {
              [EDGECART_REFUND.key]: EDGECART_REFUND.value,
              [EDGECART_REFUND_KEY]: idempotencyKey,
              ...(reason === null ? {} : { reason }),
            },
          },
          idempotencyKey,
        },
        signal,
      );
      if (answer.status >= 400) throw rejection(answer);
      const refund = parsed(StripeRefundSchema, answer.body);
      return { providerRef: refund.id, status: refundStatusOf(refund.status) };
    },

    async cancel(ref, idempotencyKey, signal) {
      await intent({ method: 'POST', path: intentPath(ref, '/cancel'), idempotencyKey }, signal);
    },

    async retrieve(ref, signal) {
      return intentUpdate(await intent({ method: 'GET', path: intentPath(ref) }, signal));
    },

    async refunds(ref, signal) {
      const listed: (ProviderRefund & { failed: boolean; currency: string })[] = [];
      let after: string | undefined;
      do {
        const query = new URLSearchParams({ payment_intent: ref, limit: String(REFUND_PAGE) });
        if (after !== undefined) query.set('starting_after', after);
        const answer = await send({ method: 'GET', path: `/refunds?${query}` }, signal);
        if (answer.status >= 400) throw rejection(answer);
        const page = parsed(RefundListSchema, answer.body);
        for (const refund of page.data) {
          const status = refundStatusOf(refund.status);
          listed.push({
            providerRef: refund.id,
            amount: refund.amount,
            status,
            ...refundOrigin(refund),
            failed: status === 'failed',
            currency: refund.currency,
          });
        }
        after = page.has_more ? page.data.at(-1)?.id : undefined;
      } while (after !== undefined);
      // Stripe lists the newest first; amounts convert along the charge's running total, oldest first.
      const currency = listed[0]?.currency ?? '';
      return fromStripeRefunds(listed.reverse(), currency)
        .reverse()
        .map(({ failed: _, currency: __, ...refund }) => refund);
    },
  };
}
