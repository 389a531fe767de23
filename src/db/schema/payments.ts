/**
 * Payments: one row per provider payment (a Stripe PaymentIntent, or a manual authorization), the refunds made
 * through edgecart, and the provider webhook events that changed a payment (so a redelivered event changes
 * nothing). Amounts are integer minor units in the payment's currency. Provider client secrets (Stripe's
 * `client_secret`) are never stored: the storefront gets them once, in the checkout response.
 */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

export const PAYMENT_PROVIDERS = ['manual', 'stripe'] as const;
export type PaymentProviderName = (typeof PAYMENT_PROVIDERS)[number];

/**
 * requires_action: created, waiting for the shopper (Stripe: confirm in the browser, 3-D Secure).
 * authorized: funds held, not yet taken. captured: taken (`amount_captured`). partially_refunded / refunded:
 * part or all of the captured amount returned. voided: the authorization was released. failed: the shopper's
 * last attempt failed; a later attempt on the same provider payment can still authorize it.
 */
export const PAYMENT_STATUSES = [
  'requires_action',
  'authorized',
  'captured',
  'partially_refunded',
  'refunded',
  'voided',
  'failed',
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/**
 * `pending` and `succeeded` return money; a refund Stripe reports `failed` or `canceled` later (some payment
 * methods' refunds are `pending` for days) returned nothing, and its row stays as the record of it.
 */
export const REFUND_STATUSES = ['pending', 'succeeded', 'failed', 'canceled'] as const;
/** The refund statuses that count as money gone back. */
export const RETURNING_REFUND_STATUSES = ['pending', 'succeeded'] as const satisfies readonly RefundStatus[];
export type RefundStatus = (typeof REFUND_STATUSES)[number];

const createdAt = integer('created_at', { mode: 'timestamp_ms' })
  .notNull()
  .default(sql`(unixepoch('subsec') * 1000)`);

export const payments = sqliteTable(
  'payments',
  {
    id: text('id').primaryKey(),
    /**
     * The order this payment pays for. Not a foreign key: the payments module sits below orders and knows
     * nothing of its tables (the orders module reaches payments through OnPaymentSettled, not the reverse).
     */
    orderId: text('order_id'),
    /** The cart that was checked out (no foreign key, for the same reason as order_id). */
    cartId: text('cart_id').notNull(),
    provider: text('provider', { enum: PAYMENT_PROVIDERS }).notNull(),
    /** The provider's id of the payment (Stripe: the PaymentIntent id `pi_...`). */
    providerRef: text('provider_ref').notNull(),
    status: text('status', { enum: PAYMENT_STATUSES }).notNull(),
    amount: integer('amount').notNull(),
    /** ISO 4217, upper case. */
    currency: text('currency').notNull(),
    amountCaptured: integer('amount_captured').notNull().default(0),
    amountRefunded: integer('amount_refunded').notNull().default(0),
    /** Why the last attempt failed (Stripe's decline or error code), while the status is `failed`. */
    failureCode: text('failure_code'),
    createdAt,
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' })
      .notNull()
      .default(sql`(unixepoch('subsec') * 1000)`),
  },
  (t) => [
    uniqueIndex('payments_provider_ref_uq').on(t.provider, t.providerRef),
    index('payments_order_idx').on(t.orderId),
    index('payments_cart_idx').on(t.cartId),
  ],
);

export const refunds = sqliteTable(
  'refunds',
  {
    id: text('id').primaryKey(),
    paymentId: text('payment_id')
      .notNull()
      .references(() => payments.id),
    amount: integer('amount').notNull(),
    /** Free text from staff; sent to the provider as metadata, never as its own reason enum. */
    reason: text('reason'),
    /** The provider's id of the refund (Stripe: `re_...`): a replayed provider call records nothing twice. */
    providerRef: text('provider_ref').notNull(),
    status: text('status', { enum: REFUND_STATUSES }).notNull(),
    createdAt,
    /**
     * The idempotency key edgecart sent the provider for this refund (carried in the refund's metadata, so the
     * provider's report of it names it too); null for a refund made in the provider's dashboard.
     */
    providerKey: text('provider_key'),
    /**
     * When the order recorded this refund: the batch of the request that made it, the provider's report of a refund
     * made in its dashboard, or the sweep of unclaimed refunds. Null while only the report of an edgecart refund has
     * recorded it (its money counted on the payment), written so explicitly; a row that does not say is claimed
     * (0: rows from before migration 0032, and from a Worker before it, running until the deploy).
     */
    claimedAt: integer('claimed_at', { mode: 'timestamp_ms' }).default(sql`0`),
  },
  (t) => [
    uniqueIndex('refunds_provider_ref_uq').on(t.paymentId, t.providerRef),
    // The refunds nobody claimed, oldest first, for the sweep that records them on their orders.
    index('refunds_unclaimed_idx').on(t.createdAt).where(sql`${t.claimedAt} IS NULL`),
  ],
);

/**
 * Webhook events that changed a payment, written in the same batch as the change and only if it happened: an
 * event delivered again (providers deliver at least once) finds its row and changes nothing.
 */
export const paymentProviderEvents = sqliteTable(
  'payment_provider_events',
  {
    provider: text('provider', { enum: PAYMENT_PROVIDERS }).notNull(),
    /** The provider's event id (Stripe: `evt_...`). */
    eventId: text('event_id').notNull(),
    type: text('type').notNull(),
    paymentId: text('payment_id')
      .notNull()
      .references(() => payments.id),
    receivedAt: integer('received_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.provider, t.eventId] })],
);
