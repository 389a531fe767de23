/**
 * Placing an order: the rows an order starts with (the order, its lines, the transition that placed it) as
 * statements for the caller's batch, plus the rows themselves, so the caller can compute its response before it
 * commits (an idempotent checkout stores that response in the same batch). Checkout is the caller; tests place
 * orders with the same function.
 *
 * An order is a snapshot of the cart at checkout: every amount is given here, computed by whoever priced the
 * cart, and never recomputed from the catalog later.
 */
import type { BatchItem } from 'drizzle-orm/batch';
import type { DiscountSnapshot, ShippingMethodSnapshot } from '../../db/schema';
import { orderLines, orders, orderTransitions } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { randomToken, sha256Hex } from '../../lib/crypto';
import { chunkRows } from '../../lib/d1-writes';
import type { Database } from '../../lib/db';
import { encryptField } from '../../lib/encryption';
import { newId } from '../../lib/ids';
import { newOrderNumber } from './number';
import type { OrderAddress, OrderLineRow, OrderRow } from './schemas';
import type { PLACED_STATUSES } from './state';

export type OrderLineDraft = Omit<OrderLineRow, 'id' | 'orderId' | 'position' | 'fulfilledQuantity'>;

export type OrderDraft = {
  cartId: string;
  /** Null for a guest: the order is then read with the order token returned once, at checkout. */
  customerId: string | null;
  email: string;
  regionId: string;
  /** The region's code, as events name it. */
  regionCode: string;
  currency: string;
  status: (typeof PLACED_STATUSES)[number];
  shippingAddress: OrderAddress;
  shippingMethod: ShippingMethodSnapshot;
  discount: DiscountSnapshot | null;
  lines: OrderLineDraft[];
  subtotal: number;
  discountTotal: number;
  shippingTotal: number;
  taxTotal: number;
  total: number;
  taxInclusive: boolean;
  /** Why it was placed in its status (e.g. `authorized by manual`), for the first transition. */
  reason?: string;
};

export type PlacedOrder = {
  order: OrderRow;
  lines: OrderLineRow[];
  /** The guest's order token, in clear: returned once, stored only as its SHA-256. */
  token: string | null;
  statements: BatchItem<'sqlite'>[];
};

/** `id`: when the caller needs it before the batch (checkout authorizes the payment for it first). */
export async function placeOrder(
  env: Env,
  db: Database,
  caller: Caller,
  draft: OrderDraft,
  options: { id?: string; now?: Date } = {},
): Promise<PlacedOrder> {
  const now = options.now ?? new Date();
  const id = options.id ?? newId('ord', now.getTime());
  const transitionId = newId('otr', now.getTime());
  const token = draft.customerId === null ? `ot_${randomToken(32)}` : null;
  const order: OrderRow = {
    id,
    number: newOrderNumber(),
    cartId: draft.cartId,
    customerId: draft.customerId,
    email: draft.email,
    regionId: draft.regionId,
    currency: draft.currency,
    status: draft.status,
    version: 0,
    lastTransitionId: transitionId,
    tokenHash: token === null ? null : await sha256Hex(token),
    shippingAddressEncrypted: await encryptField(env, JSON.stringify(draft.shippingAddress)),
    shippingCountry: draft.shippingAddress.country_code,
    shippingMethod: draft.shippingMethod,
    discount: draft.discount,
    subtotal: draft.subtotal,
    discountTotal: draft.discountTotal,
    shippingTotal: draft.shippingTotal,
    taxTotal: draft.taxTotal,
    total: draft.total,
    taxInclusive: draft.taxInclusive,
    refundedTotal: 0,
    stockStatus: 'held',
    createdAt: now,
    updatedAt: now,
  };
  const lines: OrderLineRow[] = draft.lines.map((line, position) => ({
    ...line,
    id: newId('oli', now.getTime()),
    orderId: id,
    position,
    fulfilledQuantity: 0,
  }));
  const statements: BatchItem<'sqlite'>[] = [
    db.insert(orders).values(order),
    ...chunkRows(orderLines, lines).map((chunk) => db.insert(orderLines).values(chunk)),
    db.insert(orderTransitions).values({
      id: transitionId,
      orderId: id,
      action: 'place',
      fromStatus: null,
      toStatus: draft.status,
      actorType: caller.actor.type,
      actorId: caller.actor.id,
      reason: draft.reason ?? null,
      requestId: caller.meta.requestId,
    }),
  ];
  return { order, lines, token, statements };
}
