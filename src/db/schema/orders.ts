/**
 * Orders: what was sold, to whom, for how much, and everything that happened to it since. An order is a
 * snapshot: its lines copy the variant, product, SKU, title and options, and the order copies the shipping
 * address, shipping method and discount as they were at checkout, so later catalog edits, deleted variants or
 * an erased customer account never change a sale. For that reason only `customer_id` references another table
 * (and is cleared, not cascaded, if a customer row ever goes); variant, product and region ids are kept as
 * plain values.
 *
 * Money is integer minor units of `currency`. The status only changes through src/modules/orders/transitions.ts,
 * which records every change in `order_transitions` in the same batch.
 */
import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { customers } from './identity';

const createdAt = integer('created_at', { mode: 'timestamp_ms' })
  .notNull()
  .default(sql`(unixepoch('subsec') * 1000)`);

export const ORDER_STATUSES = [
  'pending_payment',
  'paid',
  'partially_fulfilled',
  'fulfilled',
  'delivered',
  'canceled',
  'partially_refunded',
  'refunded',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/**
 * Where the order's units are in the InventoryItem objects. `held`: reserved for the cart, not yet sold (checkout
 * sells them right after placing the order; a sweep finishes it if the Worker died). `sold`: committed into a
 * sale. `returned`: the order was canceled and its units are back (holds released, or sold units restocked).
 */
export const ORDER_STOCK_STATUSES = ['held', 'sold', 'returned'] as const;
export type OrderStockStatus = (typeof ORDER_STOCK_STATUSES)[number];

/** The shipping method as chosen at checkout. */
export type ShippingMethodSnapshot = { id: string; name: string; amount: number };
/** The discount as applied at checkout. */
export type DiscountSnapshot = { id: string; code: string; amount: number };

export const orders = sqliteTable(
  'orders',
  {
    id: text('id').primaryKey(),
    /** What people read out and search for: `XXXXX-XXXXX` in Crockford base32 (src/modules/orders/number.ts). */
    number: text('number').notNull().unique(),
    /**
     * One order per cart. A storefront confirmation and a payment webhook racing to place the same cart both
     * reach the insert; the unique index lets exactly one of them win.
     */
    cartId: text('cart_id').notNull().unique(),
    customerId: text('customer_id').references(() => customers.id, { onDelete: 'set null' }),
    /** Lower-cased, as customers store it; kept when the account is erased (see AUTH.md). */
    email: text('email').notNull(),
    regionId: text('region_id').notNull(),
    currency: text('currency').notNull(),
    status: text('status', { enum: ORDER_STATUSES }).notNull(),
    /**
     * Bumped by every transition; a transition's UPDATE is guarded by the version it read, so of two concurrent
     * changes (even two that keep the status, like two partial fulfilments) exactly one applies.
     */
    version: integer('version').notNull().default(0),
    /** The transition that last changed the row: the other statements of that batch run only if it is theirs. */
    lastTransitionId: text('last_transition_id').notNull(),
    /** SHA-256 of the order token a guest reads the order with; null for orders of signed-in customers. */
    tokenHash: text('token_hash'),
    /** The shipping address (the customer address shape) as encrypted JSON, like saved addresses. */
    shippingAddressEncrypted: text('shipping_address_encrypted').notNull(),
    /** Kept in clear for reports and tax; a country alone identifies no one. */
    shippingCountry: text('shipping_country').notNull(),
    shippingMethod: text('shipping_method', { mode: 'json' }).$type<ShippingMethodSnapshot>().notNull(),
    discount: text('discount', { mode: 'json' }).$type<DiscountSnapshot>(),
    subtotal: integer('subtotal').notNull(),
    discountTotal: integer('discount_total').notNull(),
    shippingTotal: integer('shipping_total').notNull(),
    taxTotal: integer('tax_total').notNull(),
    total: integer('total').notNull(),
    /** Whether the prices (and so `total`) include `tax_total`, as the region said at checkout. */
    taxInclusive: integer('tax_inclusive', { mode: 'boolean' }).notNull(),
    /** Sum of refunds so far (from its payments, set in the refund's batch); `refunded` once it reaches `total`. */
    refundedTotal: integer('refunded_total').notNull().default(0),
    stockStatus: text('stock_status', { enum: ORDER_STOCK_STATUSES }).notNull().default('held'),
    createdAt,
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' })
      .notNull()
      .default(sql`(unixepoch('subsec') * 1000)`),
  },
  (t) => [
    // The admin list: newest first, alone or filtered by status, customer or email.
    index('orders_created_idx').on(t.createdAt, t.id),
    index('orders_status_created_idx').on(t.status, t.createdAt, t.id),
    index('orders_customer_created_idx').on(t.customerId, t.createdAt, t.id),
    index('orders_email_created_idx').on(t.email, t.createdAt, t.id),
    // The stock sweep's two queues, kept small by their conditions: units still held, units to give back.
    index('orders_stock_held_idx').on(t.createdAt).where(sql`stock_status = 'held'`),
    index('orders_stock_to_return_idx')
      .on(t.updatedAt)
      .where(sql`stock_status = 'sold' AND status = 'canceled'`),
    // Orders whose payment never came, oldest first, for the expiry sweep.
    index('orders_pending_payment_idx').on(t.createdAt).where(sql`status = 'pending_payment'`),
  ],
);

export const orderLines = sqliteTable(
  'order_lines',
  {
    id: text('id').primaryKey(),
    orderId: text('order_id')
      .notNull()
      .references(() => orders.id),
    /** Position in the order, from 0, as the cart listed the lines. */
    position: integer('position').notNull(),
    variantId: text('variant_id').notNull(),
    productId: text('product_id').notNull(),
    sku: text('sku').notNull(),
    /**
     * The InventoryItem reservation that holds this line's units (the cart line's), committed into the sale.
     * Checkout always sets it; the default only lets the column be added to the table as it was.
     */
    reservationId: text('reservation_id').notNull().default(''),
    productTitle: text('product_title').notNull(),
    variantTitle: text('variant_title').notNull(),
    options: text('options', { mode: 'json' }).$type<Record<string, string>>().notNull(),
    unitPrice: integer('unit_price').notNull(),
    quantity: integer('quantity').notNull(),
    /** unit_price x quantity. */
    subtotal: integer('subtotal').notNull(),
    /** This line's share of the order discount. */
    discountTotal: integer('discount_total').notNull(),
    taxTotal: integer('tax_total').notNull(),
    /** subtotal - discount_total, plus tax_total when prices exclude tax. */
    total: integer('total').notNull(),
    fulfilledQuantity: integer('fulfilled_quantity').notNull().default(0),
  },
  (t) => [index('order_lines_order_idx').on(t.orderId, t.position)],
);

/** `refund_failed`: a refund the provider failed or canceled after it was counted gave the money back (never staff's). */
export const ORDER_ACTIONS = [
  'place',
  'pay',
  'fulfil',
  'deliver',
  'cancel',
  'refund',
  'refund_failed',
] as const;
export type OrderAction = (typeof ORDER_ACTIONS)[number];

/** Every status change (and every action that keeps the status), with who made it and why. */
export const orderTransitions = sqliteTable(
  'order_transitions',
  {
    id: text('id').primaryKey(),
    orderId: text('order_id')
      .notNull()
      .references(() => orders.id),
    action: text('action', { enum: ORDER_ACTIONS }).notNull(),
    /** Null for the transition that placed the order. */
    fromStatus: text('from_status', { enum: ORDER_STATUSES }),
    toStatus: text('to_status', { enum: ORDER_STATUSES }).notNull(),
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id').notNull(),
    reason: text('reason'),
    requestId: text('request_id'),
    /** D1's clock at commit. */
    at: integer('at', { mode: 'timestamp_ms' }).notNull().default(sql`(unixepoch('subsec') * 1000)`),
  },
  (t) => [index('order_transitions_order_idx').on(t.orderId, t.at)],
);

export type FulfilledLine = { line_id: string; quantity: number };

export const fulfillments = sqliteTable(
  'fulfillments',
  {
    id: text('id').primaryKey(),
    orderId: text('order_id')
      .notNull()
      .references(() => orders.id),
    carrier: text('carrier').notNull(),
    trackingNumber: text('tracking_number').notNull(),
    /** Which lines, and how many of each, this shipment holds. */
    lines: text('lines', { mode: 'json' }).$type<FulfilledLine[]>().notNull(),
    createdAt,
  },
  (t) => [index('fulfillments_order_idx').on(t.orderId, t.createdAt)],
);
