/**
 * Edgecart refunds whose request never recorded them. The provider's report of an edgecart refund records its row
 * unclaimed (settlement.ts): the payment counts the money, and the request's batch, landing a moment later or
 * retried after its Worker died past the provider, claims the row and records the refund on the order with its
 * event. A row left unclaimed past CLAIM_GRACE_MS belongs to a request that will not come back (a request without
 * an Idempotency-Key whose Worker died; a key's retry after the sweep finds its refund recorded and answers with
 * the order). Each is recorded on its order by the order side (`OnRefundUnclaimed`): a cancel's refund completes
 * the cancel, any other is taken as a refund the provider reported (the order's refunded total and status, its
 * event and audit entry), in one batch whose last statement claims the row, so it happens once whoever else claims
 * it meanwhile. The batch also raises what the request's would have on the payment's side (the report recorded the
 * money quietly): its `payment.partially_refunded`/`payment.refunded` event with the refund, and its
 * `payment.refund` audit entry.
 */
import { and, asc, eq, exists, inArray, isNull, lte, type SQL } from 'drizzle-orm';
import { RETURNING_REFUND_STATUSES, refunds } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { changedRows, commit } from '../../lib/commit';
import type { Database } from '../../lib/db';
import { paymentAudit, paymentEvent } from './events';
import { getPayment } from './read';
import type { RefundRow } from './schemas';
import type { PaymentRefunded, SettlementExtension } from './settlement';

/** An edgecart refund no request claimed, as the sweep tells the order side: with the provider key it was made under. */
export type UnclaimedRefund = PaymentRefunded & { providerKey: string | null };

/**
 * The order side of an unclaimed refund, as `OnPaymentRefunded` (settlement.ts) for a refund the provider reported,
 * with the Worker's env for its follow-ups (a cancel completed gives its units back).
 */
export type OnRefundUnclaimed = (
  db: Database,
  env: Env,
  refund: UnclaimedRefund,
  when: SQL,
  caller: Caller,
) => SettlementExtension | Promise<SettlementExtension>;

/**
 * Far longer than a request takes from the provider's answer to its batch (bounded by the provider's timeout):
 * a batch that lands after the sweep claimed its row fails whole and is answered as a lost race.
 */
export const CLAIM_GRACE_MS = 10 * 60_000;

const unclaimed = (refundId: string): SQL => and(eq(refunds.id, refundId), isNull(refunds.claimedAt)) as SQL;

/** Records `refund` on its payment's order and claims it, if nobody has meanwhile; whether this call did. */
async function claimOnOrder(
  db: Database,
  env: Env,
  caller: Caller,
  refund: RefundRow,
  onRefundUnclaimed: OnRefundUnclaimed,
): Promise<boolean> {
  const payment = await getPayment(db, refund.paymentId);
  const report: UnclaimedRefund = {
    paymentId: payment.id,
    orderId: payment.orderId,
    provider: payment.provider,
    amount: refund.amount,
    via: 'sweep',
    providerKey: refund.providerKey,
  };
  const when = exists(db.select({ id: refunds.id }).from(refunds).where(unclaimed(refund.id)));
  const extension = await onRefundUnclaimed(db, env, report, when, caller);
  const recorded = { id: refund.id, amount: refund.amount, reason: refund.reason };
  const results = await commit(db, caller, {
    statements: [
      ...extension.statements,
      db
        .update(refunds)
        .set({ claimedAt: new Date() })
        .where(and(unclaimed(refund.id), extension.requires))
        .returning({ id: refunds.id }),
    ],
    audit: [
      paymentAudit('payment.refund', payment, payment, { refund: recorded }),
      ...(extension.audit ?? []),
    ],
    events: [paymentEvent(payment, refund), ...(extension.events ?? [])],
    conditional: true,
    afterCommit: extension.afterCommit,
  });
  return changedRows(results.at(-1)) > 0;
}

/** Up to `limit` refund rows unclaimed since before `before`, oldest first, through `refunds_unclaimed_idx`. */
export function unclaimedRefundsBefore(db: Database, before: Date, limit: number) {
  return db
    .select()
    .from(refunds)
    .where(
      and(
        isNull(refunds.claimedAt),
        lte(refunds.createdAt, before),
        inArray(refunds.status, RETURNING_REFUND_STATUSES),
      ),
    )
    .orderBy(asc(refunds.createdAt))
    .limit(limit);
}

/**
 * Records on their orders up to `limit` refunds left unclaimed since before `now - CLAIM_GRACE_MS`, oldest first.
 * One whose order changed under it is left for the next run.
 */
export async function claimLeftRefunds(
  db: Database,
  env: Env,
  caller: Caller,
  input: { now: number; limit: number; onRefundUnclaimed: OnRefundUnclaimed },
): Promise<{ claimed: number; left: number; more: boolean }> {
  const due = await unclaimedRefundsBefore(db, new Date(input.now - CLAIM_GRACE_MS), input.limit);
  let claimed = 0;
  for (const refund of due) {
    if (await claimOnOrder(db, env, caller, refund, input.onRefundUnclaimed)) claimed++;
  }
  return { claimed, left: due.length - claimed, more: due.length === input.limit };
}
