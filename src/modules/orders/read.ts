/** Loading an order with what hangs off it; shared by both surfaces and by the services' checks. */
import { and, asc, eq, gte, inArray, ne, sql } from 'drizzle-orm';
import { fulfillments, orderLines, orders, orderTransitions } from '../../db/schema';
import type { Database } from '../../lib/db';
import { notFound } from '../../lib/errors';
import type { FulfillmentRow, OrderLineRow, OrderRow, TransitionRow } from './schemas';

export type OrderParts = { order: OrderRow; lines: OrderLineRow[]; fulfillments: FulfillmentRow[] };

export async function findOrder(db: Database, id: string): Promise<OrderRow> {
  const order = await db.select().from(orders).where(eq(orders.id, id)).get();
  if (!order) throw notFound('Order');
  return order;
}

/** The order, its lines in position order and its fulfilments oldest first (one batch of reads). */
export async function loadOrderParts(db: Database, order: OrderRow): Promise<OrderParts> {
  const [lines, shipments] = await db.batch([
    db.select().from(orderLines).where(eq(orderLines.orderId, order.id)).orderBy(asc(orderLines.position)),
    db
      .select()
      .from(fulfillments)
      .where(eq(fulfillments.orderId, order.id))
      .orderBy(asc(fulfillments.createdAt), asc(fulfillments.id)),
  ]);
  return { order, lines, fulfillments: shipments };
}

export function loadTransitions(db: Database, orderId: string): Promise<TransitionRow[]> {
  return db
    .select()
    .from(orderTransitions)
    .where(eq(orderTransitions.orderId, orderId))
    .orderBy(asc(orderTransitions.at), asc(orderTransitions.id));
}

/** Units per order, for list summaries. */
export async function itemCounts(db: Database, orderIds: string[]): Promise<Map<string, number>> {
  if (orderIds.length === 0) return new Map();
  const rows = await db
    .select({ orderId: orderLines.orderId, units: sql<number>`sum(${orderLines.quantity})` })
    .from(orderLines)
    .where(inArray(orderLines.orderId, orderIds))
    .groupBy(orderLines.orderId);
  return new Map(rows.map((r) => [r.orderId, r.units]));
}

/**
 * Orders placed since `since` and not canceled, per shipping country and currency: how many and their total
 * (the live staff feed's running totals). A range of the created_at index.
 */
export function salesByCountrySince(db: Database, since: Date) {
  return db
    .select({
      country: orders.shippingCountry,
      currency: orders.currency,
      orders: sql<number>`count(*)`.mapWith(Number),
      total: sql<number>`sum(${orders.total})`.mapWith(Number),
    })
    .from(orders)
    .where(and(gte(orders.createdAt, since), ne(orders.status, 'canceled')))
    .groupBy(orders.shippingCountry, orders.currency)
    .orderBy(orders.shippingCountry, orders.currency);
}
