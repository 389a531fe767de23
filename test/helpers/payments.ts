/**
 * Payment fixtures through the payments service (the module's public API, as checkout and orders call it),
 * committed the way those callers commit, plus the reads tests assert on.
 */
import { env } from 'cloudflare:workers';
import { and, eq } from 'drizzle-orm';
import { sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { expect } from 'vitest';
import type { PaymentProviderName } from '../../src/db/schema';
import type { Caller } from '../../src/lib/caller';
import { commit } from '../../src/lib/commit';
import { createDb } from '../../src/lib/db';
import {
  type AuthorizePaymentResult,
  authorizePayment,
  capturePayment,
  type PaymentWrites,
  refundPayment,
} from '../../src/modules/payments/service';
import type { OnPaymentSettled } from '../../src/modules/payments/settlement';

export const db = createDb(env.DB);

const meta = () => ({ requestId: crypto.randomUUID(), ip: null, userAgent: null, traceparent: null });
/** A shopper checking out as a guest. */
export const guest = (): Caller => ({ actor: { type: 'anonymous', id: 'anonymous' }, meta: meta() });
/** Staff capturing, refunding or voiding through the order side. */
export const staff = (): Caller => ({ actor: { type: 'staff', id: 'stf_payments_test' }, meta: meta() });

export const newCartId = () => `cart_${crypto.randomUUID()}`;

/**
 * Commits a payment operation's writes as its caller would, alone in the batch: a capture's or a void's records
 * only if its UPDATE still moved the payment (as src/modules/orders/changes.ts commits them).
 */
export function commitWrites(caller: Caller, writes: PaymentWrites) {
  return commit(db, caller, { ...writes, conditional: writes.move !== undefined });
}

export type Authorized = Extract<AuthorizePaymentResult, { payment: unknown }>;

/** A committed payment: authorized at once (manual, or Stripe with `paymentMethod`), or waiting (Stripe). */
export async function createPayment(
  provider: PaymentProviderName,
  options: { amount?: number; paymentMethod?: string; orderId?: string } = {},
): Promise<Authorized> {
  const caller = guest();
  const result = await authorizePayment(db, env, caller, {
    provider,
    cartId: newCartId(),
    orderId: options.orderId ?? null,
    amount: options.amount ?? 4200,
    currency: 'eur',
    idempotencyKey: crypto.randomUUID(),
    paymentMethod: options.paymentMethod,
  });
  if (result.status === 'declined') throw new Error('declined');
  await commitWrites(caller, result.writes);
  return result;
}

export type StoredPayment = {
  id: string;
  status: string;
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  failure_code: string | null;
  provider_ref: string;
  updated_at: number;
};

export async function storedPayment(id: string): Promise<StoredPayment> {
  const row = await env.DB.prepare(
    'SELECT id, status, amount, amount_captured, amount_refunded, failure_code, provider_ref, updated_at FROM payments WHERE id = ?',
  )
    .bind(id)
    .first<StoredPayment>();
  expect(row).not.toBeNull();
  return row as StoredPayment;
}

/** The outbox events raised for `aggregateId`, oldest first: type and payload. */
export async function eventsOf(
  aggregateId: string,
): Promise<{ type: string; payload: Record<string, unknown> }[]> {
  const { results } = await env.DB.prepare(
    'SELECT type, payload FROM outbox_events WHERE aggregate_id = ? ORDER BY occurred_at, rowid',
  )
    .bind(aggregateId)
    .all<{ type: string; payload: string }>();
  return results.map((r) => ({ type: r.type, payload: JSON.parse(r.payload) }));
}

export async function auditOf(
  targetId: string,
): Promise<{ action: string; actor_id: string; changes: unknown }[]> {
  const { results } = await env.DB.prepare(
    'SELECT action, actor_id, changes FROM audit_log WHERE target_id = ? ORDER BY created_at, rowid',
  )
    .bind(targetId)
    .all<{ action: string; actor_id: string; changes: string }>();
  return results.map((r) => ({ ...r, changes: JSON.parse(r.changes) }));
}

export async function receiptsOf(paymentId: string): Promise<{ event_id: string; type: string }[]> {
  const { results } = await env.DB.prepare(
    'SELECT event_id, type FROM payment_provider_events WHERE payment_id = ? ORDER BY received_at, rowid',
  )
    .bind(paymentId)
    .all<{ event_id: string; type: string }>();
  return results;
}

/**
 * A stand-in for the order side of a settlement: a table of its own, so the seam is tested without the
 * orders module (payments never imports it).
 */
export async function createOrdersStandIn(): Promise<void> {
  await env.DB.exec(
    'CREATE TABLE IF NOT EXISTS test_orders (id TEXT PRIMARY KEY, status TEXT NOT NULL, paid_by TEXT)',
  );
}

const testOrders = sqliteTable('test_orders', {
  id: text('id').primaryKey(),
  status: text('status').notNull(),
  paidBy: text('paid_by'),
});

export async function insertPendingOrder(id: string): Promise<void> {
  await env.DB.prepare("INSERT INTO test_orders (id, status) VALUES (?, 'pending_payment')").bind(id).run();
}

export async function orderStatus(id: string): Promise<string | undefined> {
  return (
    await env.DB.prepare('SELECT status FROM test_orders WHERE id = ?').bind(id).first<{ status: string }>()
  )?.status;
}

/** The `order.paid` event markStandInOrderPaid writes for `payment` of order `orderId`, reported by `via`. */
export const standInOrderPaid = (
  orderId: string,
  payment: Authorized['payment'],
  via: 'webhook' | 'confirmation',
) => ({
  type: 'order.paid',
  payload: {
    id: orderId,
    region: 'eu',
    country: 'DE',
    currency: payment.currency,
    amount: payment.amount,
    payment_id: payment.id,
    via,
  },
});

/** The order side of a settlement, as checkout would write it: pending_payment -> paid, guarded by `when`. */
export const markStandInOrderPaid: OnPaymentSettled = (database, settled, when) => ({
  statements: [
    database
      .update(testOrders)
      .set({ status: 'paid', paidBy: settled.via })
      .where(and(eq(testOrders.id, settled.orderId ?? ''), eq(testOrders.status, 'pending_payment'), when)),
  ],
  events: [
    {
      type: 'order.paid',
      aggregateType: 'order',
      aggregateId: settled.orderId ?? 'none',
      payload: {
        id: settled.orderId ?? 'none',
        region: 'eu',
        country: 'DE',
        currency: settled.currency,
        amount: settled.amount,
        payment_id: settled.paymentId,
        via: settled.via,
      },
    },
  ],
});

/** A Stripe payment (faked by the test file's FakeStripe) of 42.00, authorized and captured. */
export async function capturedStripePayment() {
  const { payment } = await createPayment('stripe', { paymentMethod: 'pm_card_visa' });
  const capture = await capturePayment(db, env, staff(), {
    paymentId: payment.id,
    idempotencyKey: crypto.randomUUID(),
  });
  await commitWrites(staff(), capture.writes);
  return payment;
}

/** Staff's refund of `amount` (no reason) that has reached the provider; its batch (`writes`) is not committed. */
export const refundInFlight = (paymentId: string, amount: number) =>
  refundPayment(db, env, staff(), { paymentId, amount, reason: null, idempotencyKey: crypto.randomUUID() });
