/**
 * What staff do to an order: ship it (in one or more fulfilments; the first captures the payment), mark it
 * delivered, cancel it (the payment voided or refunded, the units given back), refund it in part or in full.
 * Each is one transition of the state machine (./state.ts), applied by ./changes.ts with its own rows, the
 * payment's record, an audit entry and an event.
 *
 * Events (aggregate `order`, payload `{ id, number, from, to, ... }`): order.partially_fulfilled,
 * order.fulfilled (with the fulfilment), order.delivered, order.canceled, and order.refunded for each refund
 * (with the money: amount, region, country, currency).
 */
import { and, eq, sql } from 'drizzle-orm';
import { type FulfilledLine, fulfillments, orderLines, refunds } from '../../db/schema';
import type { AdminCaller, Caller } from '../../lib/caller';
import { insertRowIf } from '../../lib/d1-writes';
import { createDb, type Database } from '../../lib/db';
import { AppError, conflict, type FieldError } from '../../lib/errors';
import { type IdempotencyClaim, idempotencyKeyReused, idempotencyRecord } from '../../lib/idempotency';
import { newId } from '../../lib/ids';
import { returnsMoney } from '../payments/transitions';
import { getAdminOrder } from './admin-read';
import type { FulfilInput, RefundInput } from './admin-schemas';
import { cancelOrderAs } from './cancel';
import { changeOrder } from './changes';
import { orderMoneyOf, regionCodeOf } from './events';
import {
  captureForFulfilment,
  nothingToRefund,
  refundableOf,
  refundedSoFar,
  refundForOrder,
  refundKeyOf,
} from './order-payments';
import { findOrder, type OrderParts } from './read';
import type { AdminOrder } from './schemas';
import { allows, invalidTransition } from './state';

/**
 * The Idempotency-Key record of a staff action: its status only, since the answer (the order) is read after the
 * commit; a replay reads it again (the route's `replayAs`).
 */
const answeredByReading = (claim: IdempotencyClaim | undefined, status: 200 | 201) =>
  idempotencyRecord(claim, status, null);

/** The lines and quantities a fulfilment ships: as asked, or everything not yet shipped. */
function shipmentOf(parts: OrderParts, input: FulfilInput): FulfilledLine[] {
  const remaining = new Map(parts.lines.map((l) => [l.id, l.quantity - l.fulfilledQuantity]));
  if (!input.lines) {
    const all = parts.lines
      .filter((l) => (remaining.get(l.id) ?? 0) > 0)
      .map((l) => ({ line_id: l.id, quantity: remaining.get(l.id) ?? 0 }));
    if (all.length === 0)
      throw conflict('nothing_to_fulfil', 'Every line of this order is already fulfilled.');
    return all;
  }
  const errors: FieldError[] = [];
  input.lines.forEach((line, i) => {
    const left = remaining.get(line.line_id);
    if (left === undefined) {
      errors.push({ pointer: `/body/lines/${i}/line_id`, message: 'No such line in this order' });
    } else if (line.quantity > left) {
      errors.push({ pointer: `/body/lines/${i}/quantity`, message: `Only ${left} left to fulfil` });
    }
  });
  if (errors.length > 0) {
    throw new AppError(422, 'invalid_fulfillment', 'The fulfilment does not match what is left to ship.', {
      errors,
    });
  }
  return input.lines.map((l) => ({ line_id: l.line_id, quantity: l.quantity }));
}

export async function fulfilOrder(
  env: Env,
  caller: Caller,
  orderId: string,
  input: FulfilInput,
  idempotency?: IdempotencyClaim,
): Promise<AdminOrder> {
  const db = createDb(env.DB);
  const fulfillmentId = newId('ful');
  await changeOrder(env, caller, orderId, {
    plan: (parts) => {
      // The status decides first: a canceled order is a 409 whatever its lines say.
      if (!allows(parts.order.status, 'fulfil')) throw invalidTransition(parts.order.status, 'fulfil');
      const shipment = shipmentOf(parts, input);
      const shipped = new Map(shipment.map((l) => [l.line_id, l.quantity]));
      const complete = parts.lines.every(
        (l) => l.fulfilledQuantity + (shipped.get(l.id) ?? 0) === l.quantity,
      );
      return {
        event: { action: 'fulfil', complete },
        details: {
          fulfillment_id: fulfillmentId,
          carrier: input.carrier,
          tracking_number: input.tracking_number,
          lines: shipment,
        },
        statements: (tx, won) => [
          insertRowIf(
            tx,
            fulfillments,
            {
              id: fulfillmentId,
              orderId,
              carrier: input.carrier,
              trackingNumber: input.tracking_number,
              lines: shipment,
            },
            won,
          ),
          ...shipment.map((line) =>
            tx
              .update(orderLines)
              .set({ fulfilledQuantity: sql`${orderLines.fulfilledQuantity} + ${line.quantity}` })
              .where(and(eq(orderLines.id, line.line_id), eq(orderLines.orderId, orderId), won)),
          ),
        ],
      };
    },
    money: (parts) => captureForFulfilment(db, env, caller, parts.order),
    idempotency: answeredByReading(idempotency, 201),
  });
  return getAdminOrder(env, orderId);
}

export async function markDelivered(
  env: Env,
  caller: Caller,
  orderId: string,
  idempotency?: IdempotencyClaim,
): Promise<AdminOrder> {
  await changeOrder(env, caller, orderId, {
    plan: () => ({ event: { action: 'deliver' } }),
    idempotency: answeredByReading(idempotency, 200),
  });
  return getAdminOrder(env, orderId);
}

/**
 * Cancels an order nothing of which has shipped: the payment is voided (or refunded, if it was captured) before
 * the batch, and the units go back after it (./cancel.ts).
 */
export async function cancelOrder(
  env: Env,
  caller: AdminCaller,
  orderId: string,
  input: { reason?: string | undefined },
  idempotency?: IdempotencyClaim,
): Promise<AdminOrder> {
  await cancelOrderAs(
    env,
    caller,
    orderId,
    input.reason ?? null,
    answeredByReading(idempotency, 200),
    caller.principal.permissions.has('orders:refund'),
  );
  return getAdminOrder(env, orderId);
}

/**
 * Whether the order counts the refund row `refundId` already: this request's batch claimed it after a lost race
 * (its losing attempts' money writes ride unguarded), and it still returns money.
 */
async function refundCounted(db: Database, refundId: string): Promise<boolean> {
  const row = await db
    .select({ status: refunds.status, claimedAt: refunds.claimedAt })
    .from(refunds)
    .where(eq(refunds.id, refundId))
    .get();
  return row?.claimedAt != null && returnsMoney(row);
}

/** 422: the body's amount is what is wrong (the payments service answers its own callers 409 with this code). */
const exceedsRefundable = (refundable: number) =>
  new AppError(422, 'refund_exceeds_refundable', `At most ${refundable} can be refunded.`, {
    errors: [{ pointer: '/body/amount', message: `At most ${refundable}` }],
  });

/**
 * Returns `amount` (everything still refundable if left out) of what was captured. The order becomes refunded
 * when its payments have returned its whole total, partially refunded before.
 *
 * Two refunds planned against the same payment at once may both pass the checks and both reach the provider;
 * the payment's record takes only what fits what was captured (src/modules/payments/service.ts), so the one that
 * does not fit fails its batch whole and is answered as if it had come after the other: 422 for an amount over
 * what is left, 409 `invalid_transition` once the order is refunded, 409 `order_changed` for "everything".
 */
export async function refundOrder(
  env: Env,
  caller: Caller,
  orderId: string,
  input: RefundInput,
  idempotency?: IdempotencyClaim,
): Promise<AdminOrder> {
  const db = createDb(env.DB);
  const order = await findOrder(db, orderId);
  const key = refundKeyOf(order, input, idempotency);
  const { payment, refundable, earlier } = await refundableOf(db, order, key);
  // The key's first request refunded another amount or with another reason, or, when this asks for everything,
  // left money over (it asked an amount): this is another request. A first refund that failed is answered below.
  const reason = input.reason ?? null;
  const leftOver = earlier !== undefined && returnsMoney(earlier) && refundable > 0;
  const differs = input.amount === undefined ? leftOver : input.amount !== earlier?.amount;
  if (earlier && (differs || reason !== earlier.reason)) throw idempotencyKeyReused();
  // A retry of a request whose refund the order recorded meanwhile (the sweep of unclaimed refunds): done.
  if (earlier?.claimedAt) return getAdminOrder(env, orderId);
  if (!allows(order.status, 'refund')) throw invalidTransition(order.status, 'refund');
  if (!payment) throw nothingToRefund();
  // A retry of a request whose refund the provider made (its report recorded it): recorded as first asked.
  const amount = earlier?.amount ?? input.amount ?? refundable;
  if (!earlier && amount > refundable) throw exceedsRefundable(refundable);
  // Read once: the plan below runs again after every lost race, and an order never changes region.
  const regionCode = await regionCodeOf(db, order.regionId);
  let refundId: string | undefined;
  await changeOrder(env, caller, orderId, {
    plan: async (parts) => {
      if (!allows(parts.order.status, 'refund')) throw invalidTransition(parts.order.status, 'refund');
      // After a lost race this refund is already counted, unless its batch failed for not fitting.
      const counted = refundId !== undefined && (await refundCounted(db, refundId));
      if (!earlier && refundId !== undefined && !counted && input.amount !== undefined) {
        const now = await refundableOf(db, parts.order, key);
        if (input.amount > now.refundable) throw exceedsRefundable(now.refundable);
      }
      const refunded = await refundedSoFar(db, orderId, counted ? 0 : amount);
      return {
        event: { action: 'refund', full: refunded >= parts.order.total },
        reason,
        details: {
          ...orderMoneyOf(parts.order, regionCode),
          amount,
          payment_id: payment.id,
          refunded_total: refunded,
        },
      };
    },
    money: async (parts) => {
      const result = await refundForOrder(db, env, caller, parts.order, {
        paymentId: payment.id,
        amount,
        reason,
        key,
      });
      refundId = result.refundId;
      return result.writes;
    },
    idempotency: answeredByReading(idempotency, 201),
  });
  return getAdminOrder(env, orderId);
}
