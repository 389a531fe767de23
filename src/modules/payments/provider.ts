/**
 * The one interface every payment provider implements. Services never call a provider directly: they get it
 * from `paymentProvider()` (providers.ts), wrapped with a timeout and a circuit breaker (resilience.ts), which
 * pass each call an `AbortSignal` to honour.
 *
 * Amounts are integer minor units; currencies ISO 4217 (any case). Every call that changes money takes an
 * idempotency key: calling again with the same key returns the first call's result and moves no money twice.
 *
 * Implementations report outcomes, not failures: a declined card is a result (`declined`). They throw only
 * `ProviderUnreachable` (the provider gave no usable answer: network error, timeout, 429, 5xx, a body that is
 * not what it documents) or `ProviderRejected` (the provider answered and refused the request itself: bad
 * credentials, an invalid parameter, an operation the payment's state does not allow).
 */
import type { PaymentProviderName } from '../../db/schema';

/** An amount in integer minor units of an ISO 4217 currency (any case). */
export type Money = { amount: number; currency: string };

export type AuthorizeRequest = {
  amount: number;
  currency: string;
  idempotencyKey: string;
  /**
   * String labels stored with the provider's payment (the cart id), never personal data. A retry must send
   * the same ones: the provider refuses an idempotency key replayed with other parameters.
   */
  metadata: Record<string, string>;
  /** Where the provider may send its receipt (Stripe: `receipt_email`). */
  email?: string;
  /**
   * A payment method to confirm with at once, server-side (Stripe: a `pm_...` id). Without one the payment
   * waits for the shopper (`requires_action`), who confirms it in the storefront with the client secret.
   */
  paymentMethod?: string;
};

export type AuthorizeResult =
  | {
      status: 'authorized' | 'captured' | 'requires_action';
      providerRef: string;
      /** For the storefront to confirm or authenticate the payment (Stripe.js). Never stored. */
      clientSecret?: string;
    }
  | {
      status: 'declined';
      /** The provider's payment, when it kept one (Stripe keeps the PaymentIntent for another attempt). */
      providerRef: string | null;
      /** The provider's reason (`card_declined`, `insufficient_funds`, ...), for logs and support. */
      declineCode: string | null;
    };

export type CaptureResult = { amountCaptured: number };

/** `failed`: the provider refused to return the money (Stripe: a refund created as failed or canceled). */
export type RefundResult = { providerRef: string; status: 'pending' | 'succeeded' | 'failed' };

/**
 * A refund as the provider lists it: `ours` when an edgecart call made it, not someone in the provider's dashboard;
 * `key`, the idempotency key of that call (from the refund's metadata; null for a dashboard refund, and for
 * edgecart refunds made before the key was carried), and `reason`, the staff's note that call sent.
 */
export type ProviderRefund = RefundResult & {
  amount: number;
  ours: boolean;
  key: string | null;
  reason: string | null;
};

/** A refund a report found returning (or about to return) money: what the report records once as a refund row. */
export type ReportedRefund = Omit<ProviderRefund, 'status'> & { status: 'pending' | 'succeeded' };

/**
 * What the provider says a payment is now (`retrieve`, and webhook events carrying the payment). `refunded`
 * carries the captured amount and every refund returning money, each recorded once as a refund row, so that the
 * payment's refund rows add up to what went back (its refunded amount is their sum): a refund made outside
 * edgecart with its order's side, one of edgecart's as a row its request's batch claims (settlement.ts).
 */
export type ProviderUpdate =
  | { status: 'requires_action' }
  | { status: 'authorized' }
  | { status: 'captured'; amountCaptured: number }
  | { status: 'failed'; failureCode: string | null }
  | { status: 'voided' }
  | { status: 'refunded'; amountCaptured: number; refunds: ReportedRefund[] };

export interface PaymentProvider {
  readonly name: PaymentProviderName;
  /** Creates the provider's payment for `amount` and, if it can, authorizes it without capturing. */
  authorize(request: AuthorizeRequest, signal: AbortSignal): Promise<AuthorizeResult>;
  /** Captures up to the authorized amount; the rest of the authorization is released. */
  capture(ref: string, money: Money, idempotencyKey: string, signal: AbortSignal): Promise<CaptureResult>;
  /** Returns part or all of the captured amount. */
  refund(
    ref: string,
    money: Money,
    reason: string | null,
    idempotencyKey: string,
    signal: AbortSignal,
  ): Promise<RefundResult>;
  /** Voids: releases an authorization (or abandons a payment still waiting for the shopper). */
  cancel(ref: string, idempotencyKey: string, signal: AbortSignal): Promise<void>;
  /** The payment's state as the provider knows it. */
  retrieve(ref: string, signal: AbortSignal): Promise<ProviderUpdate>;
  /** Every refund of the payment, whoever made it. */
  refunds(ref: string, signal: AbortSignal): Promise<ProviderRefund[]>;
}

/**
 * The `providerCode` of an authorization whose request's every attempt was voided (each attempt's order was never
 * written): the provider is up, but this request will not authorize again under its key.
 */
export const ATTEMPTS_EXHAUSTED = 'attempts_exhausted';
/** The `providerCode` (and decline code) of an amount the provider cannot state in its currency. */
export const AMOUNT_NOT_CHARGEABLE = 'amount_not_chargeable';
/** The `providerCode` of a refusal to replay an idempotency key with other parameters than its first request's. */
export const IDEMPOTENCY_ERROR = 'idempotency_error';
/** The `providerCode` of a refusal to run a request while another with its idempotency key is in flight. */
export const IDEMPOTENCY_KEY_IN_USE = 'idempotency_key_in_use';

/** The provider gave no usable answer; counts as a failure for the circuit breaker. */
export class ProviderUnreachable extends Error {
  constructor(
    readonly reason: 'network' | 'status' | 'invalid_response',
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(detail, options);
    this.name = 'ProviderUnreachable';
  }
}

/**
 * The provider refused the request itself (HTTP 4xx other than a decline or 429). The provider is up, so the
 * breaker counts it as a success; the request is wrong or the payment's state forbids it.
 */
export class ProviderRejected extends Error {
  constructor(
    readonly status: number,
    /** The provider's machine-readable reason (Stripe `error.code`, e.g. `charge_already_refunded`). */
    readonly providerCode: string | null,
  ) {
    super(`payment provider refused the request (${status}${providerCode ? ` ${providerCode}` : ''})`);
    this.name = 'ProviderRejected';
  }
}
