/**
 * Stripe, faked at the fetch boundary with its real wire format: form-encoded requests to
 * https://api.stripe.com/v1, Stripe-shaped JSON answers and error bodies, idempotent replays by
 * `Idempotency-Key`. It keeps PaymentIntents in memory, lets a test play the shopper (`confirm`), and builds
 * webhook events signed by the official `stripe` package.
 *
 * Refunds succeed at once unless `refundStatus` says `pending` (as Stripe answers some payment methods' refunds);
 * `failRefund` then fails or cancels one, as Stripe does days later, and `refundEvent` is Stripe's report of it.
 *
 * Test payment methods, as in Stripe's test mode: `pm_card_visa` authorizes, `pm_card_chargeDeclined` is
 * declined (402 card_error), `pm_card_threeDSecure2Required` needs the shopper (requires_action). Any other
 * PaymentMethod id is one Stripe does not know: creating a PaymentIntent with it is refused (400
 * `resource_missing`, `param: payment_method`) and creates none.
 */
import { env } from 'cloudflare:workers';
import Stripe from 'stripe';
import { expect, type MockInstance, vi } from 'vitest';
import { call } from './http';

export const STRIPE_API = 'https://api.stripe.com/v1';

export type RecordedRequest = {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** The form body, decoded (`metadata[cart_id]` stays a flat key, as sent). */
  form: Record<string, string>;
};

export type StripeRefund = {
  id: string;
  object: 'refund';
  amount: number;
  currency: string;
  payment_intent: string;
  /** Both nullable, as Stripe documents them. */
  status: string | null;
  metadata: Record<string, string> | null;
  /** Why a `failed` refund failed; null otherwise. */
  failure_reason: string | null;
};

export type Intent = {
  id: string;
  object: 'payment_intent';
  status: string;
  amount: number;
  amount_capturable: number;
  amount_received: number;
  currency: string;
  capture_method: string;
  client_secret: string;
  last_payment_error: { type: string; code: string; decline_code: string } | null;
  metadata: Record<string, string>;
};

/** `serve` answers as Stripe would; `fail` answers 500; `hang` never answers (only an abort ends the wait). */
export type Behaviour = 'serve' | 'fail' | 'hang';

const random = () => crypto.randomUUID().replaceAll('-', '').slice(0, 24);

const stripeError = (status: number, error: Record<string, unknown>) => Response.json({ error }, { status });

const TEST_PAYMENT_METHODS = new Set([
  'pm_card_visa',
  'pm_card_chargeDeclined',
  'pm_card_threeDSecure2Required',
]);

export class FakeStripe {
  behaviour: Behaviour = 'serve';
  /** The status new refunds are created with. */
  refundStatus: 'succeeded' | 'pending' = 'succeeded';
  readonly requests: RecordedRequest[] = [];
  readonly intents = new Map<string, Intent>();
  /** Refunded amount per PaymentIntent. */
  readonly refunded = new Map<string, number>();
  /** The Refunds made through the API or `refundInDashboard`, oldest first (as `GET /v1/refunds` lists them, newest first). */
  readonly refunds: StripeRefund[] = [];
  private readonly replies = new Map<string, { form: string; status: number; body: unknown }>();

  constructor(readonly secretKey: string = env.STRIPE_SECRET_KEY) {}

  /** Routes fetches to api.stripe.com here for the rest of the test file; anything else goes out as usual. */
  install(): MockInstance<typeof fetch> {
    const realFetch = globalThis.fetch;
    return vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      return request.url.startsWith(`${STRIPE_API}/`)
        ? this.handle(request, init?.signal)
        : realFetch(input, init);
    });
  }

  async handle(request: Request, signal?: AbortSignal | null): Promise<Response> {
    // Read as bytes: workerd warns when .text() meets a form content type.
    const form = Object.fromEntries(
      new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer())),
    );
    this.requests.push({
      method: request.method,
      url: request.url,
      headers: Object.fromEntries(request.headers),
      form,
    });
    if (this.behaviour === 'hang') {
      expect(signal).toBeInstanceOf(AbortSignal);
      return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
    }
    if (this.behaviour === 'fail') return stripeError(500, { type: 'api_error', message: 'Something broke' });
    if (request.headers.get('Authorization') !== `Bearer ${this.secretKey}`) {
      return stripeError(401, { type: 'invalid_request_error', message: 'Invalid API Key provided' });
    }
    const key = request.headers.get('Idempotency-Key');
    const encoded = JSON.stringify(form);
    const earlier = key === null ? undefined : this.replies.get(key);
    if (earlier) {
      if (earlier.form !== encoded) {
        return stripeError(400, {
          type: 'idempotency_error',
          message: 'Keys for idempotent requests can only be used with the same parameters',
        });
      }
      return Response.json(earlier.body, {
        status: earlier.status,
        headers: { 'Idempotent-Replayed': 'true' },
      });
    }
    const url = new URL(request.url);
    const { status, body } =
      request.method === 'GET' && url.pathname === '/v1/refunds'
        ? this.listRefunds(url.searchParams)
        : this.route(request.method, url.pathname, form);
    // Stripe saves the first answer's status and body: a replay shows the object as it was then.
    if (key !== null) this.replies.set(key, { form: encoded, status, body: structuredClone(body) });
    return Response.json(body, { status });
  }

  private route(
    method: string,
    path: string,
    form: Record<string, string>,
  ): { status: number; body: unknown } {
    const [, , resource, id, action] = path.split('/');
    if (method === 'POST' && resource === 'payment_intents' && id === undefined) return this.create(form);
    if (method === 'POST' && resource === 'refunds') return this.refund(form);
    const intent = id === undefined ? undefined : this.intents.get(id);
    if (resource !== 'payment_intents' || !intent) {
      return { status: 404, body: { error: { type: 'invalid_request_error', code: 'resource_missing' } } };
    }
    if (method === 'GET' && action === undefined) return { status: 200, body: intent };
    if (method === 'POST' && action === 'capture') return this.capture(intent, form);
    if (method === 'POST' && action === 'cancel') return this.cancel(intent);
    return { status: 404, body: { error: { type: 'invalid_request_error', code: 'resource_missing' } } };
  }

  private create(form: Record<string, string>) {
    if (form.payment_method !== undefined && !TEST_PAYMENT_METHODS.has(form.payment_method)) {
      return {
        status: 400,
        body: {
          error: {
            type: 'invalid_request_error',
            code: 'resource_missing',
            param: 'payment_method',
            message: `No such PaymentMethod: '${form.payment_method}'`,
          },
        },
      };
    }
    const id = `pi_${random()}`;
    const metadata = Object.fromEntries(
      Object.entries(form)
        .filter(([k]) => k.startsWith('metadata['))
        .map(([k, v]) => [k.slice('metadata['.length, -1), v]),
    );
    const intent: Intent = {
      id,
      object: 'payment_intent',
      status: 'requires_payment_method',
      amount: Number(form.amount),
      amount_capturable: 0,
      amount_received: 0,
      currency: form.currency ?? '',
      capture_method: form.capture_method ?? 'automatic',
      client_secret: `${id}_secret_${random()}`,
      last_payment_error: null,
      metadata,
    };
    this.intents.set(id, intent);
    if (intent.amount < 50) {
      this.intents.delete(id);
      return {
        status: 400,
        body: { error: { type: 'invalid_request_error', code: 'amount_too_small', param: 'amount' } },
      };
    }
    if (form.confirm === 'true' && form.payment_method) {
      this.confirm(id, form.payment_method);
      if (intent.last_payment_error) {
        return { status: 402, body: { error: { ...intent.last_payment_error, payment_intent: intent } } };
      }
    }
    return { status: 200, body: intent };
  }

  private capture(intent: Intent, form: Record<string, string>) {
    if (intent.status !== 'requires_capture') {
      return {
        status: 400,
        body: { error: { type: 'invalid_request_error', code: 'payment_intent_unexpected_state' } },
      };
    }
    const amount = form.amount_to_capture === undefined ? intent.amount : Number(form.amount_to_capture);
    Object.assign(intent, { status: 'succeeded', amount_received: amount, amount_capturable: 0 });
    return { status: 200, body: intent };
  }

  private cancel(intent: Intent) {
    if (intent.status === 'succeeded' || intent.status === 'canceled') {
      return {
        status: 400,
        body: { error: { type: 'invalid_request_error', code: 'payment_intent_unexpected_state' } },
      };
    }
    Object.assign(intent, { status: 'canceled', amount_capturable: 0 });
    return { status: 200, body: intent };
  }

  private refund(form: Record<string, string>) {
    const intent = this.intents.get(form.payment_intent ?? '');
    if (intent?.status !== 'succeeded') {
      return { status: 400, body: { error: { type: 'invalid_request_error', code: 'charge_not_captured' } } };
    }
    const already = this.refunded.get(intent.id) ?? 0;
    const amount = form.amount === undefined ? intent.amount_received - already : Number(form.amount);
    if (already + amount > intent.amount_received) {
      return { status: 400, body: { error: { type: 'invalid_request_error', code: 'amount_too_large' } } };
    }
    const metadata = Object.fromEntries(
      Object.entries(form)
        .filter(([k]) => k.startsWith('metadata['))
        .map(([k, v]) => [k.slice('metadata['.length, -1), v]),
    );
    return { status: 200, body: this.record(intent, amount, metadata) };
  }

  private record(intent: Intent, amount: number, metadata: Record<string, string>): StripeRefund {
    this.refunded.set(intent.id, (this.refunded.get(intent.id) ?? 0) + amount);
    const refund: StripeRefund = {
      id: `re_${random()}`,
      object: 'refund',
      amount,
      currency: intent.currency,
      payment_intent: intent.id,
      status: this.refundStatus,
      metadata,
      failure_reason: null,
    };
    this.refunds.push(refund);
    return refund;
  }

  /** `GET /v1/refunds?payment_intent=...`: newest first, `limit` a page, `starting_after` the page after a refund. */
  private listRefunds(query: URLSearchParams) {
    const all = this.refunds.filter((r) => r.payment_intent === query.get('payment_intent')).reverse();
    const after = query.get('starting_after');
    const from = after === null ? 0 : all.findIndex((r) => r.id === after) + 1;
    const limit = Number(query.get('limit') ?? 10);
    const data = all.slice(from, from + limit);
    return {
      status: 200,
      body: { object: 'list', data, has_more: from + limit < all.length, url: '/v1/refunds' },
    };
  }

  /** Staff refund `amount` in Stripe's dashboard: a Refund with none of edgecart's metadata. */
  refundInDashboard(intentId: string, amount: number): StripeRefund {
    const intent = this.intents.get(intentId);
    if (!intent) throw new Error(`no PaymentIntent ${intentId}`);
    return this.record(intent, amount, {});
  }

  /**
   * Stripe fails (`failed`, with its `failure_reason`) or cancels a pending refund: it returns nothing, and the
   * charge's refunded amount no longer counts it.
   */
  failRefund(
    refundId: string,
    status: 'failed' | 'canceled' = 'failed',
    failureReason = 'expired_or_canceled_card',
  ): StripeRefund {
    const refund = this.refunds.find((r) => r.id === refundId);
    if (!refund) throw new Error(`no Refund ${refundId}`);
    Object.assign(refund, { status, failure_reason: status === 'failed' ? failureReason : null });
    this.refunded.set(refund.payment_intent, (this.refunded.get(refund.payment_intent) ?? 0) - refund.amount);
    return refund;
  }

  /** The shopper confirms in the browser (Stripe.js) with a test payment method. */
  confirm(intentId: string, paymentMethod = 'pm_card_visa'): Intent {
    const intent = this.intents.get(intentId);
    if (!intent) throw new Error(`no PaymentIntent ${intentId}`);
    if (paymentMethod === 'pm_card_chargeDeclined') {
      Object.assign(intent, {
        status: 'requires_payment_method',
        last_payment_error: { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline' },
      });
    } else if (paymentMethod === 'pm_card_threeDSecure2Required') {
      Object.assign(intent, { status: 'requires_action', last_payment_error: null });
    } else {
      Object.assign(intent, {
        status: 'requires_capture',
        amount_capturable: intent.amount,
        last_payment_error: null,
      });
    }
    return intent;
  }

  /** The Charge of a PaymentIntent, as `charge.refunded` carries it. */
  charge(intentId: string) {
    const intent = this.intents.get(intentId);
    if (!intent) throw new Error(`no PaymentIntent ${intentId}`);
    return {
      id: `ch_${intentId.slice(3)}`,
      object: 'charge',
      payment_intent: intent.id,
      amount: intent.amount,
      currency: intent.currency,
      amount_captured: intent.amount_received,
      amount_refunded: this.refunded.get(intent.id) ?? 0,
      refunded: (this.refunded.get(intent.id) ?? 0) >= intent.amount_received,
    };
  }

  /** The last request sent to `path` (after /v1), e.g. `/payment_intents`. */
  lastRequest(path: string): RecordedRequest {
    const found = this.requests.findLast((r) => new URL(r.url).pathname === `/v1${path}`);
    if (!found) throw new Error(`no request to ${path}`);
    return found;
  }
}

/**
 * A Stripe event as Stripe sends it, with a snapshot of `object` as it is now. `idempotencyKey` is the key of the API request that caused it (null for
 * one the shopper's browser or Stripe itself caused).
 */
export function stripeEvent(type: string, object: unknown, idempotencyKey: string | null = null) {
  return {
    id: `evt_${random()}`,
    object: 'event',
    api_version: '2026-10-28.endive',
    created: Math.floor(Date.now() / 1000),
    data: { object: structuredClone(object) },
    livemode: false,
    pending_webhooks: 1,
    request: { id: idempotencyKey === null ? null : `req_${random()}`, idempotency_key: idempotencyKey },
    type,
  };
}

/**
 * Stripe's report of a Refund's change (`refund.failed`, `refund.updated`, or the legacy `charge.refund.updated`):
 * an event carrying the Refund object as it is now. Refund events are not caused by an API request of ours.
 */
export const refundEvent = (
  type: 'refund.failed' | 'refund.updated' | 'charge.refund.updated',
  refund: StripeRefund,
) => stripeEvent(type, { ...refund, charge: `ch_${refund.payment_intent.slice(3)}`, reason: null });

const stripe = new Stripe('sk_test_only_for_webhook_signing');

/**
 * The `Stripe-Signature` header Stripe would send, made by the official library. In workerd its crypto
 * provider is WebCrypto, which is async only, so this is `generateTestHeaderStringAsync`: the synchronous
 * `generateTestHeaderString` throws there ("SubtleCryptoProvider cannot be used in a synchronous context").
 */
export function signature(
  payload: string,
  { secret = env.STRIPE_WEBHOOK_SECRET, timestamp }: { secret?: string; timestamp?: number } = {},
): Promise<string> {
  return stripe.webhooks.generateTestHeaderStringAsync({ payload, secret, timestamp });
}

/** Delivers `event` to POST /v1/hooks/stripe as Stripe does: JSON body, signed, no credential besides. */
export async function deliver(
  event: unknown,
  options: { secret?: string; timestamp?: number; headers?: Record<string, string> } = {},
): Promise<Response> {
  const payload = JSON.stringify(event);
  return call('/v1/hooks/stripe', {
    method: 'POST',
    body: payload,
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      'Stripe-Signature': await signature(payload, options),
      ...options.headers,
    },
  });
}
