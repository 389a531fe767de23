/**
 * What checkout and orders call to move money. Each function makes the provider call (with its timeout and
 * circuit breaker) and returns `PaymentWrites`: statements, audit entries and outbox events for the CALLER's
 * batch, so the payment record commits with the order change it belongs to, in one `commit()`:
 *
 *   const { payment, writes } = await capturePayment(db, env, caller, { paymentId, idempotencyKey });
 *   await commit(db, caller, {
 *     statements: [orderUpdate, ...writes.statements],
 *     audit: [orderAudit, ...writes.audit],
 *     events: [orderEvent, ...writes.events],
 *   });
 *
 * The checks (404, 409, 422) run before the provider is called, so a refused request moves no money. Once the
 * provider has moved money, the statements record it whatever happened meanwhile: they are written to apply
 * to the payment as it may have become (a capture applies to an authorized payment, refunded amounts only grow)
 * rather than to the exact state read, and the caller's batch may commit them unconditionally (a capture's or a
 * void's record the move only if they make it: see PaymentMove). If the batch is lost (the Worker dies after the
 * provider call), the same request again (same idempotency key) gets the provider's first answer again and
 * records it then.
 *
 * One exception: a refund's statements fail the caller's whole batch (a constraint error; give the commit a
 * `recheck`) rather than record more refunded than was captured, or the provider's refund a second time under
 * another row. Both mean two requests refunded against the same state at once and this one lost: a provider that
 * keeps its own figures (Stripe) has refused the excess itself, or answered both requests with the same refund
 * because they sent the same idempotency key; one that accepts anything (manual) relies on this alone.
 *
 * Errors: AppErrors (`PaymentUnavailable` 503 with Retry-After, 404, 409, 422) are meant for the client as
 * they are. `ProviderRejected` that is not one of the state conflicts mapped here is a bug or a
 * misconfiguration (bad key): left to become a logged 500.
 */
import { and, eq, inArray, isNull, type SQL, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import {
  type PaymentProviderName,
  type PaymentStatus,
  payments,
  RETURNING_REFUND_STATUSES,
  refunds,
} from '../../db/schema';
import { type Caller, callerLogger } from '../../lib/caller';
import type { AuditRecord, DomainEvent } from '../../lib/commit';
import { onlyIf } from '../../lib/d1-writes';
import type { Database } from '../../lib/db';
import { conflict } from '../../lib/errors';
import { idempotencyKeyReused } from '../../lib/idempotency';
import { newId } from '../../lib/ids';
import {
  amountNotChargeable,
  attemptsExhausted,
  exceedsAuthorized,
  exceedsRefundable,
  invalidAmount,
  notCapturable,
  notRefundable,
  notVoidable,
  PaymentUnavailable,
  refundFailed,
} from './errors';
import { paymentAudit, paymentEvent } from './events';
import {
  AMOUNT_NOT_CHARGEABLE,
  ATTEMPTS_EXHAUSTED,
  IDEMPOTENCY_ERROR,
  IDEMPOTENCY_KEY_IN_USE,
  ProviderRejected,
  type RefundResult,
} from './provider';
import { providerKey, refundKey, refundRequestPrefix } from './provider-keys';
import { paymentProvider } from './providers';
import { getPayment, refundsOfPayment } from './read';
import type { ResilientProvider } from './resilience';
import type { PaymentRow, RefundRow } from './schemas';
import { type OnPaymentSettled, type RecordResult, recordProviderUpdate } from './settlement';
import {
  CAPTURABLE,
  REFUNDABLE,
  recordedRefundTotal,
  refundStatus,
  returnsMoney,
  UNSETTLED,
  VOIDABLE,
} from './transitions';

/** What a payment operation adds to the caller's `commit()`: its statements, audit entries and events. */
export type PaymentWrites = {
  statements: BatchItem<'sqlite'>[];
  audit: AuditRecord[];
  events: DomainEvent[];
  /** A capture's or a void's: the same writes for a batch that may not take effect (see PaymentMove). */
  move?: PaymentMove;
};

/**
 * A capture or a void moves the payment out of a state (authorized, or waiting for the shopper); two requests that
 * read that state at once both reach the provider, but only the first to commit moves the payment, so only it may
 * write the audit entry and the event. `statements` alone change no row once the payment has left that state, so
 * a caller committing them on their own passes `conditional: true` (nothing else is written then). A caller whose
 * batch may not take effect (an order change that can lose its race) uses `guarded(when)` instead: the UPDATE
 * applies only where `when` holds, and then fails the whole batch (NOT NULL) if the payment has left that state
 * meanwhile, so the audit entry and event riding with it are never written for a move another request (or the
 * provider's webhook) already recorded. `pending()` reads whether the payment is still in that state: once it is
 * not, these writes are to be dropped.
 */
export type PaymentMove = {
  guarded: (when: SQL) => BatchItem<'sqlite'>[];
  pending: () => Promise<boolean>;
};

/** The UPDATE of a capture or a void, and its guarded form (PaymentMove). */
function moveOf(
  db: Database,
  paymentId: string,
  from: readonly PaymentStatus[],
  set: { status: PaymentStatus; amountCaptured?: number; updatedAt: Date },
): { statement: BatchItem<'sqlite'>; move: PaymentMove } {
  const inFrom = inArray(payments.status, from);
  return {
    statement: db
      .update(payments)
      .set(set)
      .where(and(eq(payments.id, paymentId), inFrom)),
    move: {
      guarded: (when) => [
        db
          .update(payments)
          .set({ ...set, status: onlyIf(inFrom, set.status) })
          .where(and(eq(payments.id, paymentId), when)),
      ],
      pending: async () => from.includes((await getPayment(db, paymentId)).status),
    },
  };
}

/**
 * Provider codes meaning the payment is no longer in the state our record says (changed in the provider's
 * dashboard, or by an event not yet received): a 409 the client can retry once the webhook catches up.
 */
const STATE_CONFLICT_CODES = new Set([
  'payment_intent_unexpected_state',
  'charge_already_captured',
  'charge_already_refunded',
  'charge_disputed',
  'amount_too_large',
]);

/** How soon to retry a change another request with its provider key was still making. */
const IN_FLIGHT_RETRY_MS = 1_000;

/**
 * Runs a provider call on `payment`, turning an amount the provider cannot state in the payment's currency into
 * 422 `invalid_amount`, a state conflict it reports into 409 `payment_state_conflict`, and its refusal to run a
 * key another request is running (the same change sent twice at once) into 503 `payment_unavailable` with
 * Retry-After: the retry gets the first request's answer.
 */
async function providerCall<T>(
  payment: Pick<PaymentRow, 'provider' | 'currency'>,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof ProviderRejected)) throw error;
    if (error.providerCode === AMOUNT_NOT_CHARGEABLE) throw amountNotChargeable(payment.currency);
    if (STATE_CONFLICT_CODES.has(error.providerCode ?? '')) {
      throw conflict(
        'payment_state_conflict',
        'The payment provider reports another state for this payment; try again shortly.',
      );
    }
    if (error.providerCode === IDEMPOTENCY_KEY_IN_USE) {
      throw new PaymentUnavailable(payment.provider, 'in_flight', IN_FLIGHT_RETRY_MS);
    }
    throw error;
  }
}

function assertAmount(amount: number): void {
  if (!Number.isSafeInteger(amount) || amount < 1) throw invalidAmount();
}

/** `provider.authorize`, its refusal to authorize again under a used-up key answered 409 for the client. */
async function authorizeOnce(
  provider: ResilientProvider,
  request: Parameters<ResilientProvider['authorize']>[0],
): ReturnType<ResilientProvider['authorize']> {
  try {
    return await provider.authorize(request);
  } catch (error) {
    if (error instanceof ProviderRejected && error.providerCode === ATTEMPTS_EXHAUSTED)
      throw attemptsExhausted();
    throw error;
  }
}

export type AuthorizePaymentInput = {
  /** From `chooseProvider(env, requested)`, which refuses providers the store has not enabled. */
  provider: PaymentProviderName;
  cartId: string;
  /** The order the checkout batch creates, when its id is known before the batch (it usually is). */
  orderId: string | null;
  /** Integer minor units, at least 1. */
  amount: number;
  /** ISO 4217, any case; stored upper case. */
  currency: string;
  /** The client's Idempotency-Key of this checkout attempt; scoped here by cart and what is charged. */
  idempotencyKey: string;
  email?: string;
  /** A payment method to confirm server-side at once (Stripe `pm_...`); see AuthorizeRequest. */
  paymentMethod?: string;
};

export type AuthorizePaymentResult =
  | {
      status: 'authorized' | 'captured' | 'requires_action';
      /** The row the statements insert. */
      payment: PaymentRow;
      /** Hand to the storefront (Stripe.js confirms with it); never stored. Null for the manual provider. */
      clientSecret: string | null;
      /** Inserts the payment and raises its event; no audit entry (a guest's checkout has no actor to name). */
      writes: PaymentWrites;
    }
  | { status: 'declined'; declineCode: string | null };

/**
 * Authorizes `amount` with the provider. Nothing is written by this call: on success, put `writes` in the
 * checkout batch. A decline writes nothing (answer with `paymentDeclined()`); the provider's payment, if it
 * kept one, is never captured. If the checkout batch then fails, release the authorization with
 * `paymentProvider(env, provider, logger).cancel(payment.providerRef, idempotencyKey)`.
 *
 * @throws PaymentUnavailable (503), AppError 422 `invalid_amount`.
 */
export async function authorizePayment(
  db: Database,
  env: Env,
  caller: Caller,
  input: AuthorizePaymentInput,
): Promise<AuthorizePaymentResult> {
  assertAmount(input.amount);
  const currency = input.currency.toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency)) throw new Error(`not an ISO 4217 currency: ${input.currency}`);
  const id = newId('pay');
  const provider = paymentProvider(env, input.provider, callerLogger(caller));
  const result = await authorizeOnce(provider, {
    amount: input.amount,
    currency,
    // Everything sent is in the key: the provider refuses a key replayed with other parameters.
    idempotencyKey: await providerKey('authorize', input.cartId, [
      String(input.amount),
      currency,
      input.email ?? '',
      input.paymentMethod ?? '',
      input.idempotencyKey,
    ]),
    // Only what a retry sends again: ids made per attempt (this payment's, the order's) would make the
    // replayed request differ from the first.
    metadata: { cart_id: input.cartId },
    email: input.email,
    paymentMethod: input.paymentMethod,
  });
  if (result.status === 'declined') return { status: 'declined', declineCode: result.declineCode };
  const now = new Date();
  const payment: PaymentRow = {
    id,
    orderId: input.orderId,
    cartId: input.cartId,
    provider: input.provider,
    providerRef: result.providerRef,
    status: result.status,
    amount: input.amount,
    currency,
    amountCaptured: result.status === 'captured' ? input.amount : 0,
    amountRefunded: 0,
    failureCode: null,
    createdAt: now,
    updatedAt: now,
  };
  return {
    status: result.status,
    payment,
    clientSecret: result.clientSecret ?? null,
    writes: { statements: [db.insert(payments).values(payment)], audit: [], events: [paymentEvent(payment)] },
  };
}

export type CapturePaymentInput = {
  paymentId: string;
  /** Minor units, at most the authorized amount; the whole authorized amount if left out. */
  amount?: number;
  idempotencyKey: string;
};

/**
 * Captures an authorized payment, in full or in part (the provider releases the rest).
 *
 * @throws 404 `not_found`, 409 `payment_not_capturable` | `capture_exceeds_authorized` |
 *   `payment_state_conflict`, 422 `invalid_amount`, PaymentUnavailable (503).
 */
export async function capturePayment(
  db: Database,
  env: Env,
  caller: Caller,
  input: CapturePaymentInput,
): Promise<{ payment: PaymentRow; writes: PaymentWrites }> {
  const before = await getPayment(db, input.paymentId);
  if (!CAPTURABLE.includes(before.status)) throw notCapturable(before.status);
  const amount = input.amount ?? before.amount;
  assertAmount(amount);
  if (amount > before.amount) throw exceedsAuthorized(before.amount);
  const provider = paymentProvider(env, before.provider, callerLogger(caller));
  const key = await providerKey('capture', before.id, [String(amount), input.idempotencyKey]);
  const { amountCaptured } = await providerCall(before, () =>
    provider.capture(before.providerRef, { amount, currency: before.currency }, key),
  );
  const after: PaymentRow = { ...before, status: 'captured', amountCaptured, updatedAt: new Date() };
  const { statement, move } = moveOf(db, before.id, CAPTURABLE, {
    status: 'captured',
    amountCaptured,
    updatedAt: after.updatedAt,
  });
  return {
    payment: after,
    writes: {
      statements: [statement],
      audit: [paymentAudit('payment.capture', before, after)],
      events: [paymentEvent(after)],
      move,
    },
  };
}

export type RefundPaymentInput = {
  paymentId: string;
  /** Minor units, at most captured minus refunded. */
  amount: number;
  /** Staff's note; stored, and sent to the provider as metadata. */
  reason: string | null;
  /** Names the request, the same in its retries: the provider's idempotency key is made from it. */
  idempotencyKey: string;
};

/**
 * The provider's refund for `input`, made once per request whatever its attempts send. A provider keeps its answer
 * to a key, a refusal too. Each attempt first sends the request's own key (`refundKey` of nothing sent), which
 * replays the refund an attempt that died past the provider made. The provider refusing that key for other
 * parameters means an earlier attempt sent others: if a refund is listed under this request's keys, it is the
 * request's when it sent the same (amount and reason), else the client reused its key for another request (422); if
 * none is (the provider refused that attempt), this one sends a key naming what it sends.
 */
async function refundOnce(
  provider: ResilientProvider,
  payment: PaymentRow,
  input: RefundPaymentInput,
): Promise<RefundResult & { key: string }> {
  const { amount, reason, idempotencyKey } = input;
  const send = (key: string) =>
    providerCall(payment, async () => ({
      ...(await provider.refund(payment.providerRef, { amount, currency: payment.currency }, reason, key)),
      key,
    }));
  try {
    return await send(await refundKey(payment.id, idempotencyKey, []));
  } catch (error) {
    if (!(error instanceof ProviderRejected && error.providerCode === IDEMPOTENCY_ERROR)) throw error;
  }
  const prefix = await refundRequestPrefix(payment.id, idempotencyKey);
  const made = (await providerCall(payment, () => provider.refunds(payment.providerRef))).find((r) =>
    r.key?.startsWith(prefix),
  );
  if (made?.key && made.amount === amount && made.reason === reason) {
    return { providerRef: made.providerRef, status: made.status, key: made.key };
  }
  if (made) throw idempotencyKeyReused();
  return send(await refundKey(payment.id, idempotencyKey, [String(amount), reason ?? '']));
}

/** The row of the refund the request `idempotencyKey` names, among `recorded`, whatever the request sent. */
async function ofRequest(recorded: RefundRow[], paymentId: string, idempotencyKey: string) {
  const prefix = await refundRequestPrefix(paymentId, idempotencyKey);
  return recorded.find((refund) => refund.providerKey?.startsWith(prefix));
}

/**
 * The refund the request `idempotencyKey` names made already, as a row records it: an attempt of the request that
 * died past the provider, whose report of the refund landed, or whose batch committed.
 */
export async function refundOfRequest(
  db: Database,
  paymentId: string,
  idempotencyKey: string,
): Promise<RefundRow | undefined> {
  return ofRequest(await refundsOfPayment(db, paymentId), paymentId, idempotencyKey);
}

/**
 * Refunds part or all of what was captured and not yet refunded, or records the refund an earlier attempt of the
 * same request made that only the provider's report recorded (unclaimed: then nothing is checked or asked of the
 * provider again, and `amount` is the first attempt's). The batch claims the refund's row if the report recorded
 * it first (settlement.ts), giving it this batch's id, or inserts it; the same row again (the caller's batch
 * retried) changes nothing. The payment's refunded amount becomes the sum of its refund rows, and the batch fails
 * if that is more than was captured or if another's claim holds the provider's refund (two requests with one
 * idempotency key, answered with one refund; the sweep of unclaimed refunds, refund-claims.ts).
 *
 * @throws 404 `not_found`, 409 `payment_not_refundable` | `refund_exceeds_refundable` | `refund_failed` |
 *   `payment_state_conflict`, 422 `invalid_amount` | `idempotency_key_reused`, PaymentUnavailable (503).
 */
export async function refundPayment(
  db: Database,
  env: Env,
  caller: Caller,
  input: RefundPaymentInput,
): Promise<{ refund: RefundRow; payment: PaymentRow; writes: PaymentWrites }> {
  const before = await getPayment(db, input.paymentId);
  const recorded = await refundsOfPayment(db, before.id);
  // The request's refund, which only the provider's report recorded: an earlier attempt died past the provider.
  const found = await ofRequest(recorded, before.id, input.idempotencyKey);
  const earlier = found?.claimedAt === null ? found : undefined;
  if (earlier && !returnsMoney(earlier)) throw refundFailed();
  if (!earlier) {
    if (!REFUNDABLE.includes(before.status)) throw notRefundable(before.status);
    assertAmount(input.amount);
    const refundable = before.amountCaptured - before.amountRefunded;
    if (input.amount > refundable) throw exceedsRefundable(refundable);
  }
  const provider = paymentProvider(env, before.provider, callerLogger(caller));
  const result = earlier
    ? { providerRef: earlier.providerRef, status: earlier.status, key: earlier.providerKey }
    : await refundOnce(provider, before, input);
  if (result.status !== 'pending' && result.status !== 'succeeded') throw refundFailed();
  const now = new Date();
  const refund: RefundRow = {
    // A new id even for a row the report recorded: claiming it gives it this one, which no other claimer holds.
    id: newId('rfd'),
    paymentId: before.id,
    amount: earlier?.amount ?? input.amount,
    reason: input.reason,
    providerRef: result.providerRef,
    status: result.status,
    createdAt: earlier?.createdAt ?? now,
    providerKey: result.key,
    claimedAt: now,
  };
  const counted = recorded.some((row) => row.providerRef === refund.providerRef && returnsMoney(row));
  const amountRefunded = recordedRefundTotal(recorded) + (counted ? 0 : refund.amount);
  const after: PaymentRow = {
    ...before,
    status: refundStatus(before.amountCaptured, amountRefunded),
    amountRefunded,
    updatedAt: now,
  };
  const returning = and(eq(refunds.paymentId, before.id), inArray(refunds.status, RETURNING_REFUND_STATUSES));
  const refundedTotal = sql`(SELECT coalesce(sum(${refunds.amount}), 0) FROM ${refunds} WHERE ${returning})`;
  const claimed = sql`EXISTS (SELECT 1 FROM ${refunds} WHERE ${refunds.id} = ${refund.id})`;
  return {
    refund,
    payment: after,
    writes: {
      statements: [
        // The provider's report recorded the refund first: its row becomes this request's.
        db
          .update(refunds)
          .set({ id: refund.id, reason: refund.reason, providerKey: refund.providerKey, claimedAt: now })
          .where(
            and(
              eq(refunds.paymentId, before.id),
              eq(refunds.providerRef, refund.providerRef),
              isNull(refunds.claimedAt),
            ),
          ),
        // Else the row goes in; this very row again (the batch retried), or a claimed one, stops it.
        db.insert(refunds).values(refund).onConflictDoNothing(),
        // No status filter: an UPDATE that matched no row would leave the refund row in without a word. The amount
        // guard alone refuses a payment refunded in full or never captured (nothing captured, nothing refundable);
        // the row guard, the provider's refund held by another request's row.
        db
          .update(payments)
          .set({
            amountRefunded: onlyIf(
              sql`${refundedTotal} <= ${payments.amountCaptured} AND ${claimed}`,
              refundedTotal,
            ),
            status: sql`CASE WHEN ${refundedTotal} >= ${payments.amountCaptured} THEN 'refunded' ELSE 'partially_refunded' END`,
            updatedAt: now,
          })
          .where(eq(payments.id, before.id)),
      ],
      audit: [
        paymentAudit('payment.refund', before, after, {
          refund: { id: refund.id, amount: refund.amount, reason: refund.reason },
        }),
      ],
      events: [paymentEvent(after, refund)],
    },
  };
}

export type VoidPaymentInput = { paymentId: string; idempotencyKey: string };

/**
 * Voids a payment nobody has captured: releases an authorization, or abandons one still waiting for the
 * shopper.
 *
 * @throws 404 `not_found`, 409 `payment_not_voidable` | `payment_state_conflict`, PaymentUnavailable (503).
 */
export async function voidPayment(
  db: Database,
  env: Env,
  caller: Caller,
  input: VoidPaymentInput,
): Promise<{ payment: PaymentRow; writes: PaymentWrites }> {
  const before = await getPayment(db, input.paymentId);
  if (!VOIDABLE.includes(before.status)) throw notVoidable(before.status);
  const provider = paymentProvider(env, before.provider, callerLogger(caller));
  const key = await providerKey('void', before.id, [input.idempotencyKey]);
  await providerCall(before, () => provider.cancel(before.providerRef, key));
  const after: PaymentRow = { ...before, status: 'voided', updatedAt: new Date() };
  const { statement, move } = moveOf(db, before.id, VOIDABLE, {
    status: 'voided',
    updatedAt: after.updatedAt,
  });
  return {
    payment: after,
    writes: {
      statements: [statement],
      audit: [paymentAudit('payment.void', before, after)],
      events: [paymentEvent(after)],
      move,
    },
  };
}

/**
 * The storefront's confirmation: the shopper finished paying in the browser (Stripe.js), so ask the provider
 * and record what it says. Unlike the functions above this commits by itself, through `recordProviderUpdate`
 * (settlement.ts): when it settles the payment, `onPaymentSettled` adds the order's side to that batch, and a
 * webhook reporting the same settlement at the same moment changes nothing (or this call does not).
 * A payment that is not waiting for the shopper is returned as it is, without asking the provider.
 *
 * @throws 404 `not_found`, PaymentUnavailable (503).
 */
export async function syncPayment(
  db: Database,
  env: Env,
  caller: Caller,
  input: { paymentId: string; onPaymentSettled?: OnPaymentSettled },
): Promise<RecordResult> {
  const payment = await getPayment(db, input.paymentId);
  if (!UNSETTLED.includes(payment.status)) return { outcome: 'unchanged', payment };
  const provider = paymentProvider(env, payment.provider, callerLogger(caller));
  const update = await provider.retrieve(payment.providerRef);
  return recordProviderUpdate(db, env, caller, payment.id, update, {
    via: 'confirmation',
    onPaymentSettled: input.onPaymentSettled,
  });
}
