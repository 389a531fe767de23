/** Reads of payments, refunds and recorded provider events, for this module and the order side. */
import { and, asc, eq, sql } from 'drizzle-orm';
import { type PaymentProviderName, paymentProviderEvents, payments, refunds } from '../../db/schema';
import type { Database } from '../../lib/db';
import { notFound } from '../../lib/errors';
import type { PaymentRow, RefundRow } from './schemas';

export async function getPayment(db: Database, id: string): Promise<PaymentRow> {
  const row = await db.select().from(payments).where(eq(payments.id, id)).get();
  if (!row) throw notFound('Payment');
  return row;
}

/** The payment a provider knows as `ref` (Stripe: a PaymentIntent id), if it is one of ours. */
export function findPaymentByRef(
  db: Database,
  provider: PaymentProviderName,
  ref: string,
): Promise<PaymentRow | undefined> {
  return db
    .select()
    .from(payments)
    .where(and(eq(payments.provider, provider), eq(payments.providerRef, ref)))
    .get();
}

/** An order's payments, oldest first. */
export function paymentsOfOrder(db: Database, orderId: string): Promise<PaymentRow[]> {
  return db.select().from(payments).where(eq(payments.orderId, orderId)).orderBy(asc(payments.createdAt));
}

/** A payment's refunds, oldest first. */
export function refundsOfPayment(db: Database, paymentId: string): Promise<RefundRow[]> {
  // rowid: the order a batch inserted rows of the same millisecond in (a report records several at once).
  return db
    .select()
    .from(refunds)
    .where(eq(refunds.paymentId, paymentId))
    .orderBy(asc(refunds.createdAt), asc(sql`rowid`));
}

/** The refund row of the provider's refund `providerRef` (Stripe: `re_...`) of a payment, if one is recorded. */
export function findRefundByRef(
  db: Database,
  paymentId: string,
  providerRef: string,
): Promise<RefundRow | undefined> {
  return db
    .select()
    .from(refunds)
    .where(and(eq(refunds.paymentId, paymentId), eq(refunds.providerRef, providerRef)))
    .get();
}

export async function eventRecorded(
  db: Database,
  provider: PaymentProviderName,
  eventId: string,
): Promise<boolean> {
  const row = await db
    .select({ eventId: paymentProviderEvents.eventId })
    .from(paymentProviderEvents)
    .where(and(eq(paymentProviderEvents.provider, provider), eq(paymentProviderEvents.eventId, eventId)))
    .get();
  return row !== undefined;
}
