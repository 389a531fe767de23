/**
 * Recording what a provider reports about a payment (a webhook event, or the storefront's confirmation asking
 * the provider), exactly once however the reports race, and the seam through which the order side joins the
 * batch that settles a payment.
 *
 * Each attempt reads the payment, plans the transition from what it read (transitions.ts) and commits one
 * batch whose payment UPDATE is guarded by exactly that read state (status and amounts) and, for a webhook
 * event, by the event not being recorded yet. The UPDATE is the batch's conditional statement, so the
 * payment's outbox event, the event receipt and whatever the order side added are written if and only if this
 * batch made the transition. If another writer changed the payment in between, nothing was written: read
 * again and plan again. Two reports of the same settlement (the webhook and the confirmation) therefore
 * settle it once; the second finds it settled and changes nothing.
 *
 * The seam: `OnPaymentSettled` is called when the planned transition settles the payment (requires_action or
 * failed -> authorized or captured). It returns statements, audit entries and events for the SAME batch, and
 * receives `when`, an SQL condition that is true inside the batch exactly when the batch settles the payment.
 * The order side ANDs `when` into the WHERE of each statement (UPDATE ... WHERE id = ? AND status =
 * 'pending_payment' AND <when>; an INSERT as INSERT ... SELECT ... WHERE <when>). Its statements run before
 * the payment UPDATE, see the payment as read, and must not write `payments` or `payment_provider_events`.
 *
 * `OnPaymentRefunded` is the same seam for money a report says went back (a refund made in the provider's
 * dashboard), with one more guard: what it returns may carry `requires`, a condition the payment UPDATE also
 * needs (the order's claim matched). An order that changed after it was read then makes the attempt write
 * nothing, and it reads again, so the payment is never recorded refunded under an order that missed it.
 * `OnPaymentVoided` is the seam for a void the provider reports and edgecart did not make (an authorization that
 * expired, or was canceled in the provider's dashboard): the order that payment paid for loses what pays for it.
 * Its result may carry `requires` too, and `afterCommit`: work after the batch (giving the order's units back),
 * run only if the batch recorded the void. It is given the Worker's env for that work.
 * `OnPaymentRefundFailed` is the seam for a refund the provider reports failed or canceled after it was recorded
 * as returning money (refund-failure.ts, which writes its batch the same way): the order's refunded total and
 * status give the money back; its `requires` holds the payment's change to the order's.
 * Payments never imports orders or checkout: src/routes.ts (the webhook) and checkout (the confirmation) pass
 * the callbacks in.
 *
 * Every refund a report lists is recorded once, as a refund row keyed by the provider's id, in the batch that
 * reports it, unless a row has it already; so the payment's refund rows add up to everything that went back,
 * whoever refunded, and its refunded amount is their sum (transitions.ts). A refund made outside edgecart is
 * recorded with its order's side (`OnPaymentRefunded` is told what those rows returned); one of edgecart's as a row
 * nobody has claimed yet (`claimed_at` null), with no event and no order side: the batch of the request that made
 * it claims the row and records the rest (service.ts), whether it comes after the report, or is a retry of a
 * request that died past the provider. A report of edgecart's own refunds only is therefore quiet whatever caused
 * its event.
 */
import { and, eq, exists, inArray, notExists, type SQL, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import {
  type PaymentProviderName,
  type PaymentStatus,
  paymentProviderEvents,
  payments,
  refunds,
} from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { type AuditRecord, changedRows, commit, type DomainEvent, type FollowUp } from '../../lib/commit';
import { insertRowIf } from '../../lib/d1-writes';
import type { Database } from '../../lib/db';
import { newId } from '../../lib/ids';
import { paymentAudit, paymentEvent } from './events';
import type { ProviderUpdate, ReportedRefund } from './provider';
import { eventRecorded, getPayment, refundsOfPayment } from './read';
import type { PaymentRow, RefundRow } from './schemas';
import { planUpdate, recordedRefundTotal, returnsMoney } from './transitions';

/** A payment that just became usable for its order: funds held (`authorized`) or taken (`captured`). */
export type PaymentSettled = {
  paymentId: string;
  orderId: string | null;
  cartId: string;
  provider: PaymentProviderName;
  providerRef: string;
  status: 'authorized' | 'captured';
  amount: number;
  amountCaptured: number;
  currency: string;
  /** Which report settled it: the provider's webhook, or the storefront's confirmation (`syncPayment`). */
  via: 'webhook' | 'confirmation';
};

/**
 * What every report the order side is told of names: the payment, its order, the provider and the report (`sweep`:
 * an edgecart refund its request never recorded, refund-claims.ts).
 */
export type PaymentReport = {
  paymentId: string;
  orderId: string | null;
  provider: PaymentProviderName;
  via: PaymentSettled['via'] | 'sweep';
};

/** A payment the provider reports voided, not by an edgecart call: its authorization expired, or was canceled. */
export type PaymentVoided = PaymentReport;

/**
 * Money a provider reported returned to the shopper, not by an edgecart call (a refund in its dashboard): `amount`,
 * what the refunds this report records returned. The order counts its own refunds (src/modules/orders), so the
 * payment's figures are not passed on.
 */
export type PaymentRefunded = PaymentReport & { amount: number };

/**
 * A refund recorded as returning money that the provider reports failed or canceled: it returned nothing, and
 * comes back off the payment's refunded amount (refund-failure.ts), whoever made it. `amount` is what it was to
 * return.
 */
export type PaymentRefundFailed = PaymentRefunded & { status: 'failed' | 'canceled' };

/** What the order side adds to the settling batch; every statement guarded by `when`. */
export type SettlementExtension = {
  statements: BatchItem<'sqlite'>[];
  audit?: AuditRecord[];
  events?: DomainEvent[];
  /** True in the batch once the order side's change took effect: the payment UPDATE applies only then. */
  requires?: SQL;
  /** Work after the batch, run only if it recorded the report (`commit()`'s follow-ups). */
  afterCommit?: FollowUp[];
};

/**
 * Called (possibly more than once, if the payment changes under an attempt) with the settlement, the
 * condition `when` and the caller recording it (the webhook's system actor, or the confirming shopper);
 * reads are allowed, writes go in the returned statements.
 */
type OrderSideHook<Report> = (
  db: Database,
  report: Report,
  when: SQL,
  caller: Caller,
) => SettlementExtension | Promise<SettlementExtension>;

export type OnPaymentSettled = OrderSideHook<PaymentSettled>;

/** As `OnPaymentSettled`, for a report that a refund, not edgecart's, returned money (see the top of this file). */
export type OnPaymentRefunded = OrderSideHook<PaymentRefunded>;

/** As `OnPaymentRefunded`, for a refund the provider reports failed or canceled (refund-failure.ts). */
export type OnPaymentRefundFailed = OrderSideHook<PaymentRefundFailed>;

/** As `OnPaymentSettled`, for a void the provider reports that edgecart did not make; with the env its follow-ups need. */
export type OnPaymentVoided = (
  db: Database,
  env: Env,
  voided: PaymentVoided,
  when: SQL,
  caller: Caller,
) => SettlementExtension | Promise<SettlementExtension>;

/** The webhook event that carried the report, recorded in the batch that applies it. */
export type ProviderEventReceipt = { provider: PaymentProviderName; eventId: string; type: string };

export type RecordOptions = {
  via: PaymentSettled['via'];
  event?: ProviderEventReceipt;
  /**
   * Record the state only, raising no event and calling no extension: the change was made by an edgecart
   * call, whose own batch raises them (see webhook-service.ts). Not for a refund report, whose refunds each say
   * whose they are (see the top of this file).
   */
  quiet?: boolean;
  onPaymentSettled?: OnPaymentSettled;
  onPaymentRefunded?: OnPaymentRefunded;
  onPaymentVoided?: OnPaymentVoided;
};

export type RecordResult = {
  /** `changed`: this call made the transition. `unchanged`: nothing to do. `duplicate`: the event was recorded. */
  outcome: 'changed' | 'unchanged' | 'duplicate';
  /** The payment after the call (as this call left it, or as it found it). */
  payment: PaymentRow;
};

/**
 * A report of edgecart's own capture or void (quiet) that reaches D1 before the call's batch moves the payment
 * itself; the call's batch then finds it moved and drops its own records of the move (its statements are
 * conditional on the state they move from, src/modules/orders/changes.ts), so the report records it as the call
 * would have: the payment's event and its audit entry (by the report's caller), once, whichever comes first.
 */
const OWN_MOVES: Partial<Record<PaymentStatus, string>> = {
  captured: 'payment.capture',
  voided: 'payment.void',
};

/**
 * Each lost attempt means another writer changed this one payment in between; a payment has a handful of
 * writers at most (webhook deliveries, the confirmation, staff), so running out means something is wrong.
 */
export const MAX_ATTEMPTS = 5;

const settledFrom = (payment: PaymentRow, via: PaymentSettled['via']): PaymentSettled => ({
  paymentId: payment.id,
  orderId: payment.orderId,
  cartId: payment.cartId,
  provider: payment.provider,
  providerRef: payment.providerRef,
  status: payment.status === 'captured' ? 'captured' : 'authorized',
  amount: payment.amount,
  amountCaptured: payment.amountCaptured,
  currency: payment.currency,
  via,
});

/** What the order side adds to the batch that moves the payment to `after`, through the callback that applies. */
async function orderSide(
  db: Database,
  env: Env,
  caller: Caller,
  after: PaymentRow,
  settles: boolean,
  external: ReportedRefund[],
  when: SQL,
  options: RecordOptions & { quiet: boolean },
): Promise<SettlementExtension> {
  if (options.quiet) return { statements: [] };
  if (settles && options.onPaymentSettled) {
    return options.onPaymentSettled(db, settledFrom(after, options.via), when, caller);
  }
  if (after.status === 'voided' && options.onPaymentVoided) {
    const voided: PaymentVoided = {
      paymentId: after.id,
      orderId: after.orderId,
      provider: after.provider,
      via: options.via,
    };
    return options.onPaymentVoided(db, env, voided, when, caller);
  }
  const amount = external.reduce((sum, r) => sum + r.amount, 0);
  if (amount > 0 && options.onPaymentRefunded) {
    const refunded: PaymentRefunded = {
      paymentId: after.id,
      orderId: after.orderId,
      provider: after.provider,
      amount,
      via: options.via,
    };
    return options.onPaymentRefunded(db, refunded, when, caller);
  }
  return { statements: [] };
}

/**
 * `update` less the refunds a row records already (what the report has to record), and `payment` with the refunded
 * amount its rows say, which the report adds to. A payment an older Worker's report raised without a row (before
 * migration 0032) is set right by the first report that records the missing refund, instead of counting it twice.
 */
async function againstRecorded(
  db: Database,
  payment: PaymentRow,
  update: ProviderUpdate,
): Promise<{ update: ProviderUpdate; payment: PaymentRow }> {
  if (update.status !== 'refunded') return { update, payment };
  const recorded = await refundsOfPayment(db, payment.id);
  const refs = new Set(recorded.map((r) => r.providerRef));
  const fresh = update.refunds.filter((r) => !refs.has(r.providerRef));
  return {
    update: { ...update, refunds: keepingTotal(update.refunds, recorded, fresh) },
    payment: { ...payment, amountRefunded: recordedRefundTotal(recorded) },
  };
}

/**
 * `fresh` with its last amount moved by how far the rows already recorded differ from the report's own figures
 * for the same refunds, so that the payment's rows add up to what the report says came back. They differ only
 * where the provider states refunds more finely than edgecart counts (Stripe's HUF in fillér, converted along a
 * running total, stripe-amounts.ts): a row recorded before an earlier refund failed kept its share of a running
 * total that the failure moved.
 */
function keepingTotal(
  reported: readonly ReportedRefund[],
  recorded: readonly RefundRow[],
  fresh: ReportedRefund[],
): ReportedRefund[] {
  const last = fresh.at(-1);
  if (!last) return fresh;
  const reportedAmount = new Map(reported.map((r) => [r.providerRef, r.amount]));
  let drift = 0;
  for (const row of recorded) {
    const now = row.providerRef === null ? undefined : reportedAmount.get(row.providerRef);
    if (now !== undefined && returnsMoney(row)) drift += now - row.amount;
  }
  if (drift === 0 || last.amount + drift < 1) return fresh;
  return [...fresh.slice(0, -1), { ...last, amount: last.amount + drift }];
}

/**
 * The refund row of `refund`, inserted only if the statement before it (the payment UPDATE, or the row before)
 * changed a row; edgecart's own unclaimed, for the request's batch to claim.
 */
function refundIfChanged(db: Database, paymentId: string, refund: ReportedRefund, at: Date) {
  const row: RefundRow = {
    id: newId('rfd'),
    paymentId,
    amount: refund.amount,
    reason: refund.reason,
    providerRef: refund.providerRef,
    status: refund.status,
    createdAt: at,
    providerKey: refund.key,
    claimedAt: refund.ours ? null : at,
  };
  return insertRowIf(db, refunds, row, sql`changes() > 0`);
}

/** The receipt row, inserted only if the statement before it (the payment UPDATE, or a row after it) changed a row. */
export function receiptIfChanged(db: Database, event: ProviderEventReceipt, paymentId: string, at: Date) {
  // Values in the table's column order: provider, event_id, type, payment_id, received_at.
  return db
    .insert(paymentProviderEvents)
    .select(
      sql`SELECT ${event.provider}, ${event.eventId}, ${event.type}, ${paymentId}, ${at.getTime()} WHERE changes() > 0`,
    );
}

/** True in the batch while `event` has no receipt: a guard of the statement that records it. */
export const eventNotRecorded = (db: Database, event: ProviderEventReceipt): SQL =>
  notExists(
    db
      .select({ eventId: paymentProviderEvents.eventId })
      .from(paymentProviderEvents)
      .where(
        and(
          eq(paymentProviderEvents.provider, event.provider),
          eq(paymentProviderEvents.eventId, event.eventId),
        ),
      ),
  );

/**
 * Applies `update` to payment `paymentId` if it moves the payment forward, as described above.
 *
 * @throws AppError 404 if the payment does not exist; Error if it kept changing for MAX_ATTEMPTS attempts.
 */
export async function recordProviderUpdate(
  db: Database,
  env: Env,
  caller: Caller,
  paymentId: string,
  update: ProviderUpdate,
  options: RecordOptions,
): Promise<RecordResult> {
  const { event } = options;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const before = await getPayment(db, paymentId);
    if (event && (await eventRecorded(db, event.provider, event.eventId))) {
      return { outcome: 'duplicate', payment: before };
    }
    const { update: reported, payment: asRows } = await againstRecorded(db, before, update);
    const recording = reported.status === 'refunded' ? reported.refunds : [];
    const external = recording.filter((r) => !r.ours);
    // A refund report records what it lists whoever caused its event; edgecart's refunds only: quiet (see above).
    const quiet = reported.status === 'refunded' ? external.length === 0 : options.quiet === true;
    const plan = planUpdate(asRows, reported);
    if (!plan) return { outcome: 'unchanged', payment: before };
    const after: PaymentRow = {
      ...before,
      status: plan.status,
      amountCaptured: plan.amountCaptured,
      amountRefunded: plan.amountRefunded,
      failureCode: plan.failureCode,
      updatedAt: new Date(),
    };
    const asRead = and(
      eq(payments.id, before.id),
      eq(payments.status, before.status),
      eq(payments.amountCaptured, before.amountCaptured),
      eq(payments.amountRefunded, before.amountRefunded),
      event ? eventNotRecorded(db, event) : undefined,
      // Another writer recorded one of these refunds meanwhile: read again rather than count it twice.
      recording.length > 0
        ? notExists(
            db
              .select({ id: refunds.id })
              .from(refunds)
              .where(
                and(
                  eq(refunds.paymentId, before.id),
                  inArray(
                    refunds.providerRef,
                    recording.map((r) => r.providerRef),
                  ),
                ),
              ),
          )
        : undefined,
    ) as SQL;
    const extension = await orderSide(
      db,
      env,
      caller,
      after,
      plan.settles,
      external,
      exists(db.select({ id: payments.id }).from(payments).where(asRead)),
      { ...options, quiet },
    );
    const statements: BatchItem<'sqlite'>[] = [
      ...extension.statements,
      db
        .update(payments)
        .set({
          status: after.status,
          amountCaptured: after.amountCaptured,
          amountRefunded: after.amountRefunded,
          failureCode: after.failureCode,
          updatedAt: after.updatedAt,
        })
        .where(and(asRead, extension.requires))
        .returning({ id: payments.id }),
      // After the UPDATE, whose guard they would falsify: each row goes in if the statement before it did.
      ...recording.map((refund) => refundIfChanged(db, before.id, refund, after.updatedAt)),
    ];
    if (event) statements.push(receiptIfChanged(db, event, before.id, after.updatedAt));
    const ownMove = quiet && before.status !== after.status ? OWN_MOVES[after.status] : undefined;
    const results = await commit(db, caller, {
      statements,
      audit: [...(extension.audit ?? []), ...(ownMove ? [paymentAudit(ownMove, before, after)] : [])],
      events: quiet && !ownMove ? [] : [paymentEvent(after), ...(extension.events ?? [])],
      conditional: true,
      afterCommit: extension.afterCommit,
    });
    const updated = results[extension.statements.length];
    if (changedRows(updated) > 0) return { outcome: 'changed', payment: after };
  }
  throw new Error(`payment ${paymentId} changed under ${MAX_ATTEMPTS} attempts to record a provider update`);
}
