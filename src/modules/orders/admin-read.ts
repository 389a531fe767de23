/**
 * Orders for staff: a filtered, searchable list (newest first, keyset pagination on (created_at, id), each filter
 * served by an index that ends in those columns) and the whole order with its history.
 */
import { and, desc, eq, gte, lt, or, type SQL } from 'drizzle-orm';
import { type OrderStatus, orders } from '../../db/schema';
import { createDb, type Database } from '../../lib/db';
import { olderThan, TIME_ID_KEY } from '../../lib/keyset';
import { decodeCursor, paginate } from '../../lib/pagination';
import { paymentsOfOrder, refundsOfPayment } from '../payments/read';
import { serializePayment, serializeRefund } from '../payments/schemas';
import { normalizeOrderNumber } from './number';
import { findOrder, itemCounts, loadOrderParts, loadTransitions } from './read';
import { type AdminOrder, serializeOrderSummary, serializeStoreOrder, serializeTransition } from './schemas';

const SORT = 'created_at_desc';

export type AdminOrderFilters = {
  status?: OrderStatus | undefined;
  customerId?: string | undefined;
  /** Exact, lower-cased. */
  email?: string | undefined;
  createdFrom?: Date | undefined;
  createdBefore?: Date | undefined;
  /** An order number (any case, dash optional) or the start of an email address. */
  q?: string | undefined;
};

/** The highest code point: `prefix` + this is above every string that starts with `prefix`. */
const AFTER_EVERY_SUFFIX = String.fromCodePoint(0x10ffff);

function search(q: string): SQL | undefined {
  const prefix = q.trim().toLowerCase();
  const byEmail = and(gte(orders.email, prefix), lt(orders.email, prefix + AFTER_EVERY_SUFFIX));
  const number = normalizeOrderNumber(q);
  return number === undefined ? byEmail : or(eq(orders.number, number), byEmail);
}

/**
 * The tighter of the cursor and `created_before` as one keyset bound (`created_at < t` is `(created_at, id) <
 * (t, '')`): given both, SQLite would seek on `created_at < t` and read every page before the cursor again.
 */
function upperBound(
  after: [number, string] | null,
  createdBefore: Date | undefined,
): [number, string] | null {
  const before: [number, string] | null = createdBefore ? [createdBefore.getTime(), ''] : null;
  if (!after || !before) return after ?? before;
  return after[0] < before[0] || (after[0] === before[0] && after[1] < before[1]) ? after : before;
}

export async function listOrders(
  db: Database,
  filters: AdminOrderFilters,
  query: { limit: number; cursor?: string | undefined },
) {
  const after = query.cursor ? decodeCursor(query.cursor, SORT, TIME_ID_KEY) : null;
  const rows = await db
    .select()
    .from(orders)
    .where(
      and(
        filters.status ? eq(orders.status, filters.status) : undefined,
        filters.customerId ? eq(orders.customerId, filters.customerId) : undefined,
        filters.email ? eq(orders.email, filters.email) : undefined,
        filters.createdFrom ? gte(orders.createdAt, filters.createdFrom) : undefined,
        filters.q ? search(filters.q) : undefined,
        olderThan(orders.createdAt, orders.id, upperBound(after, filters.createdBefore)),
      ),
    )
    .orderBy(desc(orders.createdAt), desc(orders.id))
    .limit(query.limit + 1);
  const page = paginate(rows, query.limit, SORT, (r) => [r.createdAt.getTime(), r.id]);
  const counts = await itemCounts(
    db,
    page.data.map((r) => r.id),
  );
  return {
    data: page.data.map((r) => ({
      ...serializeOrderSummary(r, counts.get(r.id) ?? 0),
      email: r.email,
      customer_id: r.customerId,
    })),
    page: page.page,
  };
}

export async function getAdminOrder(env: Env, id: string): Promise<AdminOrder> {
  const db = createDb(env.DB);
  const order = await findOrder(db, id);
  const [parts, transitions, paid] = await Promise.all([
    loadOrderParts(db, order),
    loadTransitions(db, id),
    paymentsOfOrder(db, id),
  ]);
  const paymentRefunds = await Promise.all(paid.map((p) => refundsOfPayment(db, p.id)));
  return {
    ...(await serializeStoreOrder(env, order, parts.lines, parts.fulfillments)),
    customer_id: order.customerId,
    cart_id: order.cartId,
    region_id: order.regionId,
    stock_status: order.stockStatus,
    transitions: transitions.map(serializeTransition),
    payments: paid.map((p, i) => ({
      ...serializePayment(p),
      refunds: (paymentRefunds[i] ?? []).map(serializeRefund),
    })),
  };
}
