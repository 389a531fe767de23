/**
 * Sales analytics, aggregated by the analytics event consumer (src/modules/analytics): one row per UTC day, region,
 * shipping country and currency. Amounts are integer minor units and never mix currencies.
 */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const salesDaily = sqliteTable(
  'sales_daily',
  {
    /** `YYYY-MM-DD` (UTC) of the event: an order counts on the day it was placed, money on the day it moved. */
    day: text('day').notNull(),
    region: text('region').notNull(),
    country: text('country').notNull(),
    currency: text('currency').notNull(),
    orders: integer('orders').notNull().default(0),
    /** Sum of order totals placed (order.created). */
    orderedAmount: integer('ordered_amount').notNull().default(0),
    /** Sum of payments authorized or captured (order.paid). */
    paidAmount: integer('paid_amount').notNull().default(0),
    /** Money given back: refunds (order.refunded) and the payments of paid orders canceled (order.canceled). */
    refundedAmount: integer('refunded_amount').notNull().default(0),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' })
      .notNull()
      .default(sql`(unixepoch('subsec') * 1000)`),
  },
  (t) => [
    primaryKey({ columns: [t.day, t.region, t.country, t.currency] }),
    // A report of one region: its rows in the report's order (src/modules/analytics/read.ts).
    index('sales_daily_region_day_idx').on(t.region, t.day, t.country, t.currency),
  ],
);
