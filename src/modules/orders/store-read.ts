/**
 * The shopper's own orders. A customer sees the orders placed while signed in; a guest reads one order with the
 * order token checkout returned. Anyone else, including a customer asking for another's order, gets the same 404
 * as for an id that does not exist, so order ids reveal nothing.
 */
import { and, desc, eq } from 'drizzle-orm';
import { orders } from '../../db/schema';
import { sha256Hex, timingSafeEqualStrings } from '../../lib/crypto';
import { createDb, type Database } from '../../lib/db';
import { notFound } from '../../lib/errors';
import { olderThan, TIME_ID_KEY } from '../../lib/keyset';
import { decodeCursor, paginate } from '../../lib/pagination';
import { itemCounts, loadOrderParts } from './read';
import { type OrderRow, type StoreOrder, serializeOrderSummary, serializeStoreOrder } from './schemas';

const SORT = 'created_at_desc';

/** What the caller holds that may open an order: their customer id (signed in) and/or an order token. */
export type OrderProof = { customerId?: string | undefined; orderToken?: string | undefined };

async function opens(order: OrderRow, proof: OrderProof): Promise<boolean> {
  if (proof.customerId !== undefined && order.customerId === proof.customerId) return true;
  if (proof.orderToken === undefined || order.tokenHash === null) return false;
  return timingSafeEqualStrings(await sha256Hex(proof.orderToken), order.tokenHash);
}

/** Whether `proof` opens order `id` (false when there is no such order): who may follow it live. */
export async function proofOpensOrder(db: Database, id: string, proof: OrderProof): Promise<boolean> {
  const order = await db.select().from(orders).where(eq(orders.id, id)).get();
  return order !== undefined && (await opens(order, proof));
}

/** The order `id` if `proof` opens it, else the 404 of an order that does not exist. */
export async function ownOrder(db: Database, id: string, proof: OrderProof): Promise<OrderRow> {
  const order = await db.select().from(orders).where(eq(orders.id, id)).get();
  if (!order || !(await opens(order, proof))) throw notFound('Order');
  return order;
}

export async function readOwnOrder(env: Env, id: string, proof: OrderProof): Promise<StoreOrder> {
  const db = createDb(env.DB);
  const parts = await loadOrderParts(db, await ownOrder(db, id, proof));
  return serializeStoreOrder(env, parts.order, parts.lines, parts.fulfillments);
}

/** The customer's orders, newest first. */
export async function listOwnOrders(
  db: Database,
  customerId: string,
  query: { limit: number; cursor?: string | undefined },
) {
  const after = query.cursor ? decodeCursor(query.cursor, SORT, TIME_ID_KEY) : null;
  const rows = await db
    .select()
    .from(orders)
    .where(and(eq(orders.customerId, customerId), olderThan(orders.createdAt, orders.id, after)))
    .orderBy(desc(orders.createdAt), desc(orders.id))
    .limit(query.limit + 1);
  const page = paginate(rows, query.limit, SORT, (r) => [r.createdAt.getTime(), r.id]);
  const counts = await itemCounts(
    db,
    page.data.map((r) => r.id),
  );
  return { data: page.data.map((r) => serializeOrderSummary(r, counts.get(r.id) ?? 0)), page: page.page };
}
