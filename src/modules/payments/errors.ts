/**
 * The payment problems other modules answer with. `PaymentUnavailable` is an AppError, so checkout can let it
 * propagate (after releasing its reservations) and the shopper gets 503 `payment_unavailable` with
 * `Retry-After`; it also names the provider and why, for logs.
 */
import type { PaymentProviderName } from '../../db/schema';
import { AppError, conflict } from '../../lib/errors';

/**
 * `rejected`: the provider refused a call that only reads (a key without access), which an operator fixes.
 * `behind`: the provider's list lags its event. `unrecorded`: a report about a refund edgecart has not recorded
 * yet (its own batch, or the report of it, still to come). `in_flight`: another request with the same provider key
 * (the same change, sent twice at once) is still running there.
 */
export type UnavailableReason =
  | 'circuit_open'
  | 'timeout'
  | 'unreachable'
  | 'rejected'
  | 'behind'
  | 'unrecorded'
  | 'in_flight';

export class PaymentUnavailable extends AppError {
  /** Whole seconds, at least 1: what the `Retry-After` header says. */
  readonly retryAfterSeconds: number;

  constructor(
    readonly provider: PaymentProviderName,
    readonly reason: UnavailableReason,
    retryAfterMs: number,
  ) {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    super(503, 'payment_unavailable', `Payments cannot be taken right now; try again in ${seconds} s.`, {
      headers: { 'Retry-After': String(seconds) },
    });
    this.name = 'PaymentUnavailable';
    this.retryAfterSeconds = seconds;
  }
}

/**
 * 402 `payment_declined`. The provider's decline code stays out of the answer: some codes (`fraudulent`,
 * `lost_card`) must not be shown to the person paying; it is in the provider's dashboard and our logs.
 */
export const paymentDeclined = () =>
  new AppError(402, 'payment_declined', 'The payment was declined; try another payment method.');

export const notCapturable = (status: string) =>
  conflict(
    'payment_not_capturable',
    `A payment that is ${status} cannot be captured; only an authorized one.`,
  );

export const notRefundable = (status: string) =>
  conflict('payment_not_refundable', `A payment that is ${status} cannot be refunded; only a captured one.`);

export const notVoidable = (status: string) =>
  conflict('payment_not_voidable', `A payment that is ${status} cannot be voided.`);

export const exceedsAuthorized = (authorized: number) =>
  conflict('capture_exceeds_authorized', `At most ${authorized} can be captured.`);

export const exceedsRefundable = (refundable: number) =>
  conflict('refund_exceeds_refundable', `At most ${refundable} can be refunded.`);

export const refundFailed = () =>
  conflict('refund_failed', 'The payment provider refused the refund; nothing was refunded.');

/** An amount that is not a whole number of minor units above zero (a caller's bug or a client's input). */
export const invalidAmount = () =>
  new AppError(422, 'invalid_amount', 'The amount must be a whole number of minor units, at least 1.');

/** 409: the request's Idempotency-Key has used up its authorizations (each attempt's order failed after one). */
export const attemptsExhausted = () =>
  new AppError(
    409,
    'payment_attempts_exhausted',
    'Every attempt of this request failed after its payment was authorized; send it again with a new Idempotency-Key.',
  );

/** An amount the payment provider cannot state in its currency (Stripe: KWD in tens of fils only). */
export const amountNotChargeable = (currency: string) =>
  new AppError(
    422,
    'invalid_amount',
    `The payment provider cannot move this amount in ${currency}; its amounts in ${currency} are coarser.`,
  );
