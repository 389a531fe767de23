/**
 * A refund the provider reports failed or canceled after edgecart recorded it as returning money (Stripe answers
 * some payment methods' refunds `pending`, and fails or cancels them days later; the same for a refund made in its
 * dashboard, recorded from `charge.refunded`): it returned nothing, so its row says so, its amount comes back off
 * the payment's refunded amount (transitions.ts, `planRefundFailure`) and, through `OnPaymentRefundFailed`, off
 * the order's refunded total, in one batch, once.
 *
 * Each attempt reads the payment and the refund row and commits one batch whose payment UPDATE is guarded by
 * exactly that read (the payment's status and amounts, the row's status, the event having no receipt, and the
 * order side's `requires`), as settlement.ts records a report; the row's new status and the event's receipt are
 * written after it only if it changed the payment, and the events and audit entries only then (`conditional`).
 * Another writer moving the payment or the row in between (a staff refund, another report) makes the attempt
 * write nothing, and it reads again.
 *
 * Edgecart's own refund without a row is not known to be counted yet, but will be any moment (its batch, or its
 * report), and answering the failure would lose it for good: 503 with Retry-After, so the provider delivers it
 * again. The same for edgecart's refund whose row only its report recorded (unclaimed, settlement.ts): the order
 * has not counted it yet, and the batch that claims it will. A refund made in the provider's dashboard that fails
 * before its `charge.refunded` is processed gets its row now, failed from the start: it counts nowhere, and the
 * `charge.refunded` that lists it later (pending, if the provider's list lags) finds it recorded. A row already failed or canceled
 * is the report applied already: `duplicate`.
 */
import { and, eq, exists, not, type SQL, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { payments, refunds } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { changedRows, commit } from '../../lib/commit';
import { insertRowIf } from '../../lib/d1-writes';
import type { Database } from '../../lib/db';
import { newId } from '../../lib/ids';
import { PaymentUnavailable } from './errors';
import { paymentAudit, refundFailedEvent } from './events';
import { eventRecorded, findRefundByRef, getPayment } from './read';
import type { PaymentRow, RefundRow } from './schemas';
import {
  eventNotRecorded,
  MAX_ATTEMPTS,
  type OnPaymentRefundFailed,
  type PaymentRefundFailed,
  type ProviderEventReceipt,
  receiptIfChanged,
} from './settlement';
import { planRefundFailure } from './transitions';

/** What the provider reports of one of a payment's refunds. */
export type RefundFailure = {
  /** The provider's id of the refund (Stripe: `re_...`), as its row records it. */
  providerRef: string;
  /** What it was to return. */
  amount: number;
  /** Whether edgecart made it (not someone in the provider's dashboard). */
  ours: boolean;
  status: 'failed' | 'canceled';
  /** The provider's reason (Stripe: `failure_reason`), for the event and the audit entry. */
  failureReason: string | null;
};

export type RefundFailureOptions = {
  via: PaymentRefundFailed['via'];
  event?: ProviderEventReceipt;
  onPaymentRefundFailed?: OnPaymentRefundFailed;
};

/** The `payment.refund_failed` audit entry: the payment's change, and the refund with the provider's reason. */
const failureAudit = (before: PaymentRow, after: PaymentRow, refund: RefundRow, failure: RefundFailure) =>
  paymentAudit('payment.refund_failed', before, after, {
    refund: {
      id: refund.id,
      amount: refund.amount,
      provider_ref: refund.providerRef,
      status: failure.status,
      failure_reason: failure.failureReason,
    },
  });

/** Retry-After of a report about a refund not recorded yet: its batch or report usually lands within seconds. */
const UNRECORDED_RETRY_MS = 10_000;

/**
 * Records `failure` of one of `paymentId`'s refunds, as described above.
 *
 * @returns `changed` when this call recorded it, `duplicate` when it was recorded already.
 * @throws PaymentUnavailable (503, `unrecorded`) when the refund has no row yet; AppError 404 if the payment does
 *   not exist; Error if the payment kept changing for MAX_ATTEMPTS attempts.
 */
export async function recordRefundFailure(
  db: Database,
  caller: Caller,
  paymentId: string,
  failure: RefundFailure,
  options: RefundFailureOptions,
): Promise<'changed' | 'duplicate'> {
  const { event } = options;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const before = await getPayment(db, paymentId);
    if (event && (await eventRecorded(db, event.provider, event.eventId))) return 'duplicate';
    const refund = await findRefundByRef(db, before.id, failure.providerRef);
    if (!refund && !failure.ours) {
      // A row that landed meanwhile (the refund's charge.refunded) stops the insert: read again and fail it as any.
      if (await recordFailedFromStart(db, caller, before, failure, event)) return 'changed';
      continue;
    }
    if (!refund?.claimedAt) throw new PaymentUnavailable(before.provider, 'unrecorded', UNRECORDED_RETRY_MS);
    const plan = planRefundFailure(before, refund);
    if (!plan) return 'duplicate';
    const now = new Date();
    const after: PaymentRow = { ...before, ...plan, updatedAt: now };
    const failedRefund: RefundRow = { ...refund, status: failure.status };
    const asRead = and(
      eq(payments.id, before.id),
      eq(payments.status, before.status),
      eq(payments.amountCaptured, before.amountCaptured),
      eq(payments.amountRefunded, before.amountRefunded),
      exists(
        db
          .select({ id: refunds.id })
          .from(refunds)
          .where(and(eq(refunds.id, refund.id), eq(refunds.status, refund.status))),
      ),
      event ? eventNotRecorded(db, event) : undefined,
    ) as SQL;
    const reported: PaymentRefundFailed = {
      paymentId: before.id,
      orderId: before.orderId,
      provider: before.provider,
      amount: refund.amount,
      status: failure.status,
      via: options.via,
    };
    const when = exists(db.select({ id: payments.id }).from(payments).where(asRead));
    const extension = (await options.onPaymentRefundFailed?.(db, reported, when, caller)) ?? {
      statements: [],
    };
    const statements: BatchItem<'sqlite'>[] = [
      ...extension.statements,
      db
        .update(payments)
        .set({ status: after.status, amountRefunded: after.amountRefunded, updatedAt: now })
        .where(and(asRead, extension.requires))
        .returning({ id: payments.id }),
      // After the UPDATE, whose guard it would falsify: `changes()` is the UPDATE's row count.
      db
        .update(refunds)
        .set({ status: failure.status })
        .where(and(eq(refunds.id, refund.id), sql`changes() > 0`)),
    ];
    if (event) statements.push(receiptIfChanged(db, event, before.id, now));
    const results = await commit(db, caller, {
      statements,
      audit: [failureAudit(before, after, refund, failure), ...(extension.audit ?? [])],
      events: [refundFailedEvent(after, failedRefund, failure.failureReason), ...(extension.events ?? [])],
      conditional: true,
      afterCommit: extension.afterCommit,
    });
    const updated = results[extension.statements.length];
    if (changedRows(updated) > 0) return 'changed';
  }
  throw new Error(`payment ${paymentId} changed under ${MAX_ATTEMPTS} attempts to record a refund failure`);
}

/**
 * A dashboard refund that failed before edgecart recorded it: its row, failed and claimed (nothing to count on
 * the payment or the order), the event's receipt, and the audit entry, once: the row goes in only while neither it
 * nor the receipt is there. Whether it went in.
 */
async function recordFailedFromStart(
  db: Database,
  caller: Caller,
  payment: PaymentRow,
  failure: RefundFailure,
  event: ProviderEventReceipt | undefined,
): Promise<boolean> {
  const now = new Date();
  const row: RefundRow = {
    id: newId('rfd'),
    paymentId: payment.id,
    amount: failure.amount,
    reason: null,
    providerRef: failure.providerRef,
    status: failure.status,
    createdAt: now,
    providerKey: null,
    claimedAt: now,
  };
  const recorded = exists(
    db
      .select({ id: refunds.id })
      .from(refunds)
      .where(and(eq(refunds.paymentId, payment.id), eq(refunds.providerRef, failure.providerRef))),
  );
  const statements: BatchItem<'sqlite'>[] = [
    insertRowIf(db, refunds, row, and(not(recorded), event ? eventNotRecorded(db, event) : undefined) as SQL),
  ];
  if (event) statements.push(receiptIfChanged(db, event, payment.id, now));
  const results = await commit(db, caller, {
    statements,
    audit: [failureAudit(payment, payment, row, failure)],
    conditional: true,
  });
  return changedRows(results.at(-1)) > 0;
}
