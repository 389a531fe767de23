/**
 * What staff do to an order: ship it (in one or more fulfilments), mark it delivered, cancel it. Each is one
 * transition of the state machine (./state.ts), committed with the change's own rows, an audit entry and an
 * event (./transitions.ts). The checks run twice when a concurrent change wins the race: once before the batch
 * (a refused request writes nothing), and again on the order as the winner left it, so the loser is told
 * precisely why (409 `invalid_transition`, 422 over-quantity) or, if its request would still be valid, 409
 * `order_changed`.
 *
 * Events (aggregate `order`, payload `{ id, number, from, to, ... }`): order.partially_fulfilled,
 * order.fulfilled (with the fulfilment), order.delivered, order.canceled.
 */
import { and, eq, type SQL, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { type FulfilledLine, fulfillments, type OrderStatus, orderLines } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import type { ComputedDomainEvent as DomainEvent } from '../../lib/commit';
import { insertRowIf } from '../../lib/d1-writes';
import { createDb, type Database } from '../../lib/db';
import { AppError, conflict, type FieldError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { getAdminOrder } from './admin-read';
import type { FulfilInput } from './admin-schemas';
import { findOrder, loadOrderParts, type OrderParts } from './read';
import type { AdminOrder } from './schemas';
import { allows, invalidTransition, nextStatus, type OrderEvent } from './state';
import { commitTransition, orderChanged, transitionOrder } from './transitions';

/** One staff action, planned against the order as read: the event, its own guarded statements, what it says. */
type Plan = {
  event: OrderEvent;
  reason?: string | null;
  statements?: (db: Database, won: SQL) => BatchItem<'sqlite'>[];
  /** Added to the audit entry's changes and the event's payload. */
  details?: Record<string, unknown>;
};

const eventType = (event: OrderEvent, to: OrderStatus): string =>
  event.action === 'fulfil'
    ? event.complete
      ? 'order.fulfilled'
      : 'order.partially_fulfilled'
    : `order.${to}`;

async function changeOrder(
  env: Env,
  caller: Caller,
  orderId: string,
  plan: (parts: OrderParts) => Plan,
): Promise<AdminOrder> {
  const db = createDb(env.DB);
  const parts = await loadOrderParts(db, await findOrder(db, orderId));
  const { event, reason, statements, details } = plan(parts);
  const { order } = parts;
  const to = nextStatus(order.status, event);
  const transition = transitionOrder(db, caller, order, { action: event.action, to, reason: reason ?? null });
  const summary = { from: order.status, to, ...(reason ? { reason } : {}), ...details };
  const domainEvent: DomainEvent = {
    type: eventType(event, to),
    aggregateType: 'order',
    aggregateId: order.id,
    payload: { id: order.id, number: order.number, ...summary },
  };
  const won = await commitTransition(db, caller, transition, {
    statements: statements?.(db, transition.won) ?? [],
    audit: { action: `order.${event.action}`, targetType: 'order', targetId: order.id, changes: summary },
    events: [domainEvent],
  });
  if (!won) {
    const now = await loadOrderParts(db, await findOrder(db, orderId));
    nextStatus(now.order.status, plan(now).event);
    throw orderChanged();
  }
  return getAdminOrder(env, orderId);
}

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

export function fulfilOrder(env: Env, caller: Caller, orderId: string, input: FulfilInput) {
  const fulfillmentId = newId('ful');
  return changeOrder(env, caller, orderId, (parts) => {
    // The status decides first: a canceled order is a 409 whatever its lines say.
    if (!allows(parts.order.status, 'fulfil')) throw invalidTransition(parts.order.status, 'fulfil');
    const shipment = shipmentOf(parts, input);
    const shipped = new Map(shipment.map((l) => [l.line_id, l.quantity]));
    const complete = parts.lines.every((l) => l.fulfilledQuantity + (shipped.get(l.id) ?? 0) === l.quantity);
    return {
      event: { action: 'fulfil', complete },
      details: {
        fulfillment_id: fulfillmentId,
        carrier: input.carrier,
        tracking_number: input.tracking_number,
        lines: shipment,
      },
      statements: (db, won) => [
        insertRowIf(
          db,
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
          db
            .update(orderLines)
            .set({ fulfilledQuantity: sql`${orderLines.fulfilledQuantity} + ${line.quantity}` })
            .where(and(eq(orderLines.id, line.line_id), eq(orderLines.orderId, orderId), won)),
        ),
      ],
    };
  });
}

export function markDelivered(env: Env, caller: Caller, orderId: string) {
  return changeOrder(env, caller, orderId, () => ({ event: { action: 'deliver' } }));
}

export function cancelOrder(
  env: Env,
  caller: Caller,
  orderId: string,
  input: { reason?: string | undefined },
) {
  return changeOrder(env, caller, orderId, () => ({
    event: { action: 'cancel' },
    reason: input.reason ?? null,
  }));
}
