/**
 * Carts and what prices them: carts with their lines, shipping options per region, discount codes and their
 * redemptions. Money is integer minor units in the cart's (or the region's) currency; rates are basis points.
 * A cart stores what the shopper chose (variants, quantities, address, option, code); prices, availability and
 * totals are computed from the catalog on every read (src/modules/carts/load.ts), so they are never stale.
 */
import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { regions } from './catalog';
import { customers } from './identity';

const timestamps = {
  createdAt: integer('created_at', { mode: 'timestamp_ms' })
    .notNull()
    .default(sql`(unixepoch('subsec') * 1000)`),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' })
    .notNull()
    .default(sql`(unixepoch('subsec') * 1000)`),
};

/** `merged`: a guest cart whose lines moved into its customer's cart at sign-in (src/modules/carts/merge.ts). */
export const CART_STATUSES = ['open', 'checking_out', 'completed', 'merged'] as const;
export type CartStatus = (typeof CART_STATUSES)[number];

export const SHIPPING_PRICE_TYPES = ['flat', 'weight'] as const;
export type ShippingPriceType = (typeof SHIPPING_PRICE_TYPES)[number];

/** A weight tier: carts weighing up to `maxGrams` (inclusive) ship for `amount`. */
export type WeightTier = { maxGrams: number; amount: number };

export const DISCOUNT_TYPES = ['percentage', 'fixed'] as const;
export type DiscountType = (typeof DISCOUNT_TYPES)[number];

export const shippingOptions = sqliteTable(
  'shipping_options',
  {
    id: text('id').primaryKey(),
    regionId: text('region_id')
      .notNull()
      .references(() => regions.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    priceType: text('price_type', { enum: SHIPPING_PRICE_TYPES }).notNull(),
    /** The flat price (price type `flat`), in the region's currency, entered as the region enters prices. */
    amount: integer('amount'),
    /** Tiers ascending by weight (price type `weight`); a cart heavier than the last tier cannot use it. */
    weightTiers: text('weight_tiers', { mode: 'json' }).$type<WeightTier[]>(),
    /** Free when the discounted subtotal reaches this amount; null: never free. */
    freeOver: integer('free_over'),
    active: integer('active', { mode: 'boolean' }).notNull().default(true),
    ...timestamps,
  },
  (t) => [index('shipping_options_region_idx').on(t.regionId, t.active)],
);

export const discounts = sqliteTable(
  'discounts',
  {
    id: text('id').primaryKey(),
    /** Upper-cased on the way in, so uniqueness and lookups ignore case. */
    code: text('code').notNull().unique(),
    type: text('type', { enum: DISCOUNT_TYPES }).notNull(),
    /** Percentage off the subtotal in basis points (type `percentage`). */
    percentageBps: integer('percentage_bps'),
    /** Amount off in minor units of `currency` (type `fixed`). */
    amount: integer('amount'),
    /** Set for fixed discounts and for any discount with a minimum subtotal: it applies only in this currency. */
    currencyCode: text('currency_code'),
    minimumSubtotal: integer('minimum_subtotal'),
    startsAt: integer('starts_at', { mode: 'timestamp_ms' }),
    endsAt: integer('ends_at', { mode: 'timestamp_ms' }),
    /** Redemptions allowed in total, and per customer (or per email for guests); null: unlimited. */
    usageLimit: integer('usage_limit'),
    usageLimitPerCustomer: integer('usage_limit_per_customer'),
    /** Regions the code is valid in; null: every region. A deleted region's id simply never matches again. */
    regionIds: text('region_ids', { mode: 'json' }).$type<string[]>(),
    active: integer('active', { mode: 'boolean' }).notNull().default(true),
    ...timestamps,
  },
  (t) => [index('discounts_created_idx').on(t.createdAt, t.id)],
);

/**
 * One row per order that used a code, written by checkout in the order's batch through
 * `discountRedemptionStatement` (src/modules/discounts/redemption.ts), whose conditions make the batch fail
 * when the code is over a limit. The order's cancel releases it (`released_at`, in the cancel's batch): only
 * unreleased rows count against the limits, so a canceled order gives its use back. A discount with
 * redemptions, released or not, cannot be deleted (restrict): deactivate it.
 */
export const discountRedemptions = sqliteTable(
  'discount_redemptions',
  {
    id: text('id').primaryKey(),
    discountId: text('discount_id')
      .notNull()
      .references(() => discounts.id, { onDelete: 'restrict' }),
    orderId: text('order_id').notNull().unique(),
    customerId: text('customer_id'),
    /** Lower-cased, like customer emails; the per-customer limit counts guests by it. */
    email: text('email'),
    redeemedAt: integer('redeemed_at', { mode: 'timestamp_ms' }).notNull(),
    /** When the order's cancel gave the use back; null while the redemption counts. */
    releasedAt: integer('released_at', { mode: 'timestamp_ms' }),
  },
  // `released_at` last, so a count of a code's uses reads only the index. Not partial indexes (WHERE released_at
  // IS NULL): the delete's `discount_in_use` check and the foreign key's restrict look for released rows too.
  (t) => [
    index('discount_redemptions_customer_idx').on(t.discountId, t.customerId, t.releasedAt),
    index('discount_redemptions_email_idx').on(t.discountId, t.email, t.releasedAt),
  ],
);

export const carts = sqliteTable(
  'carts',
  {
    id: text('id').primaryKey(),
    /** SHA-256 of a guest cart's secret token; null once a customer owns the cart. */
    tokenHash: text('token_hash'),
    customerId: text('customer_id').references(() => customers.id, { onDelete: 'cascade' }),
    /** Null only when staff deleted the cart's region: every line is then unavailable until a region is set. */
    regionId: text('region_id').references(() => regions.id, { onDelete: 'set null' }),
    /** The currency lines are priced in: the region's, taken when the region is set. */
    currencyCode: text('currency_code').notNull(),
    /** Lower-cased. */
    email: text('email'),
    /** The shipping address (the customer address shape) as encrypted JSON, like saved addresses. */
    shippingAddressEncrypted: text('shipping_address_encrypted'),
    /** Kept in clear, like saved addresses: checkout checks it against the region. */
    shippingCountry: text('shipping_country'),
    shippingOptionId: text('shipping_option_id').references(() => shippingOptions.id, {
      onDelete: 'set null',
    }),
    /** The code as applied (upper-cased); looked up on every read, so a changed or deleted discount shows. */
    discountCode: text('discount_code'),
    status: text('status', { enum: CART_STATUSES }).notNull().default('open'),
    /** When checkout locked the cart (status `checking_out`); see src/modules/carts/checkout-hooks.ts. */
    checkoutStartedAt: integer('checkout_started_at', { mode: 'timestamp_ms' }),
    completedOrderId: text('completed_order_id'),
    completedAt: integer('completed_at', { mode: 'timestamp_ms' }),
    /** The customer's cart this guest cart merged into (status `merged`). */
    mergedIntoCartId: text('merged_into_cart_id'),
    ...timestamps,
  },
  (t) => [
    // A customer has at most one active cart: the one a guest cart merges into.
    uniqueIndex('carts_customer_active_uq')
      .on(t.customerId)
      .where(sql`${t.customerId} IS NOT NULL AND ${t.status} IN ('open', 'checking_out')`),
    index('carts_status_updated_idx').on(t.status, t.updatedAt),
  ],
);

export const cartLines = sqliteTable(
  'cart_lines',
  {
    id: text('id').primaryKey(),
    cartId: text('cart_id')
      .notNull()
      .references(() => carts.id, { onDelete: 'cascade' }),
    /** No foreign key: a variant staff delete stays on the line, flagged unavailable, never silently dropped. */
    variantId: text('variant_id').notNull(),
    quantity: integer('quantity').notNull(),
    /** When the stock held for this line is released; null when nothing is held. */
    reservationExpiresAt: integer('reservation_expires_at', { mode: 'timestamp_ms' }),
    /** What the line showed when last written, shown if the variant is deleted. */
    sku: text('sku').notNull(),
    productTitle: text('product_title').notNull(),
    variantTitle: text('variant_title').notNull(),
    ...timestamps,
  },
  (t) => [uniqueIndex('cart_lines_cart_variant_uq').on(t.cartId, t.variantId)],
);
