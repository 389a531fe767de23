/**
 * Stripe's HTTP API as Stripe documents it (https://docs.stripe.com/api): form-encoded bodies with bracketed
 * nested keys, `Authorization: Bearer <secret key>`, a pinned `Stripe-Version`, and `Idempotency-Key` on every
 * POST. Answers are sorted into three kinds: a JSON body to read (2xx), a Stripe error body the caller decides
 * about (4xx except 429), and no usable answer (`ProviderUnreachable`: network error, abort, 429, 5xx, or a
 * body that is not JSON).
 */
import { ProviderUnreachable } from './provider';

const STRIPE_API_BASE = 'https://api.stripe.com/v1';
/** The API version edgecart's requests are written for (the one the `stripe` npm package it tests with pins). */
export const STRIPE_API_VERSION = '2026-10-28.endive';

type Scalar = string | number | boolean;
export type FormParams = Record<string, Scalar | Record<string, Scalar> | undefined>;

/** `{ metadata: { cart_id: 'x' }, amount: 100 }` -> `metadata[cart_id]=x&amount=100`; undefined is left out. */
function formBody(params: FormParams): string {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (typeof value === 'object') {
      for (const [inner, innerValue] of Object.entries(value))
        form.append(`${key}[${inner}]`, String(innerValue));
    } else {
      form.append(key, String(value));
    }
  }
  return form.toString();
}

/** `replayed`: Stripe answered with its saved answer to the key's first request (`Idempotent-Replayed: true`). */
export type StripeAnswer = { status: number; body: unknown; replayed: boolean };

export type StripeCall = {
  method: 'GET' | 'POST';
  /** After /v1, e.g. `/payment_intents`; path parameters already encoded. */
  path: string;
  params?: FormParams;
  idempotencyKey?: string;
};

/**
 * Sends one request with `signal` (the caller's timeout). Resolves with the status and parsed body of any
 * answer Stripe meant (2xx or a 4xx other than 429); throws `ProviderUnreachable` otherwise.
 */
export async function stripeRequest(
  secretKey: string,
  call: StripeCall,
  signal: AbortSignal,
): Promise<StripeAnswer> {
  const headers: Record<string, string> = {
    Authorization: `Bearer ${secretKey}`,
    'Stripe-Version': STRIPE_API_VERSION,
  };
  if (call.method === 'POST') headers['Content-Type'] = 'application/x-www-form-urlencoded';
  if (call.idempotencyKey !== undefined) headers['Idempotency-Key'] = call.idempotencyKey;
  let res: Response;
  try {
    res = await fetch(`${STRIPE_API_BASE}${call.path}`, {
      method: call.method,
      headers,
      body: call.method === 'POST' ? formBody(call.params ?? {}) : undefined,
      signal,
    });
  } catch (error) {
    throw new ProviderUnreachable('network', `stripe ${call.path}: no answer`, { cause: error });
  }
  if (res.status === 429 || res.status >= 500) {
    await res.body?.cancel();
    throw new ProviderUnreachable('status', `stripe ${call.path}: status ${res.status}`);
  }
  try {
    return {
      status: res.status,
      body: await res.json(),
      replayed: res.headers.get('Idempotent-Replayed') === 'true',
    };
  } catch (error) {
    throw new ProviderUnreachable('invalid_response', `stripe ${call.path}: body is not JSON`, {
      cause: error,
    });
  }
}
