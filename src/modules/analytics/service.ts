/**
 * Sales aggregation from order events: each event adds to the row of its UTC day, region, shipping country and
 * currency. The statement is written by the analytics consumer in the same batch as its processed mark, so an event
 * delivered twice is counted once.
 */
import { type SQL, sql } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { salesDaily } from '../../db/schema';
import type { Database } from '../../lib/db';
import type { CatalogEvent } from '../../lib/event-catalog';

export type SalesEvent = Extract<
  CatalogEvent,
  { type: 'order.created' | 'order.paid' | 'order.refunded' | 'order.refund_failed' | 'order.canceled' }
>;

export const SALES_EVENT_TYPES: readonly SalesEvent['type'][] = [
  'order.created',
  'order.paid',
  'order.refunded',
  'order.refund_failed',
  'order.canceled',
];

/** What one event adds to its day's row. */
export type SalesDelta = { orders: number; ordered: number; paid: number; refunded: number };

export function salesDelta(event: SalesEvent): SalesDelta {
  switch (event.type) {
    case 'order.created':
      return { orders: 1, ordered: event.data.total, paid: 0, refunded: 0 };
    case 'order.paid':
      return { orders: 0, ordered: 0, paid: event.data.amount, refunded: 0 };
    case 'order.refunded':
    // A cancel gives back what order.paid counted (voided or refunded): revenue must not keep it.
    case 'order.canceled':
      return { orders: 0, ordered: 0, paid: 0, refunded: event.data.amount };
    // A refund the provider failed returned nothing: what its order.refunded took off revenue comes back.
    case 'order.refund_failed':
      return { orders: 0, ordered: 0, paid: 0, refunded: -event.data.amount };
  }
}

/** `YYYY-MM-DD` in UTC of when the event occurred. */
export const dayOf = (event: SalesEvent) => event.occurred_at.slice(0, 10);

export function recordSaleStatement(db: Database, event: SalesEvent) {
  const delta = salesDelta(event);
  const add = (column: SQLiteColumn, amount: number): SQL => sql`${column} + ${amount}`;
  return db
    .insert(salesDaily)
    .values({
      day: dayOf(event),
      region: event.data.region,
      country: event.data.country,
      currency: event.data.currency,
      orders: delta.orders,
      orderedAmount: delta.ordered,
      paidAmount: delta.paid,
      refundedAmount: delta.refunded,
    })
    .onConflictDoUpdate({
      target: [salesDaily.day, salesDaily.region, salesDaily.country, salesDaily.currency],
      set: {
        orders: add(salesDaily.orders, delta.orders),
        orderedAmount: add(salesDaily.orderedAmount, delta.ordered),
        paidAmount: add(salesDaily.paidAmount, delta.paid),
        refundedAmount: add(salesDaily.refundedAmount, delta.refunded),
        updatedAt: sql`(unixepoch('subsec') * 1000)`,
      },
    });
}
