/**
 * How an order changes, under concurrency. Every change is one D1 batch:
 *
 * 1. `claim`: UPDATE orders SET status, version + 1, last_transition_id = <this transition> WHERE id AND status
 *    AND version are what the service read. Of two concurrent changes exactly one matches; the other changes
 *    no row.
 * 2. What every move to the new status does (a cancel gives the order's discount redemption back), then the
 *    change's own statements (a fulfilment, line quantities, ...), each guarded by `won`: the order's
 *    last_transition_id is this transition's id, which is true only if step 1 matched. A batch runs without
 *    interleaving, so nothing else can set it in between.
 * 3. `record`: the order_transitions row, also guarded by `won`, as the LAST statement. `commit()` is called with
 *    `conditional: true`, so the audit entry, the events and any idempotency record are written only if it was.
 *
 * `OrderTransition.batch` puts them in that order, so no caller can leave a step out.
 *
 * A lost race therefore writes nothing at all, and the service reads the order again to answer.
 */
import { and, eq, type SQL, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { type OrderAction, type OrderStatus, orders, orderTransitions } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { type Change, commit } from '../../lib/commit';
import { insertRowIf } from '../../lib/d1-writes';
import type { Database } from '../../lib/db';
import { conflict } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { releaseRedemptionStatement } from '../discounts/redemption';

export type OrderTransition = {
  id: string;
  /** True inside the batch only after this transition's claim matched: the guard of every other statement. */
  won: SQL;
  /** The transition's statements around the change's `own` (each guarded by `won`): the record is the last. */
  batch: (own?: BatchItem<'sqlite'>[]) => BatchItem<'sqlite'>[];
};

function claimStatement(
  db: Database,
  order: { id: string; status: OrderStatus; version: number },
  to: OrderStatus,
  transitionId: string,
  guard: SQL | undefined,
) {
  return db
    .update(orders)
    .set({
      status: to,
      version: sql`${orders.version} + 1`,
      lastTransitionId: transitionId,
      updatedAt: new Date(),
    })
    .where(
      and(eq(orders.id, order.id), eq(orders.status, order.status), eq(orders.version, order.version), guard),
    );
}

/**
 * The statements that move `order` (as read, with its version) to `to` by `action`, recorded with the caller as
 * actor. `guard` is one more condition of the claim (the payment settlement's `when`, when the batch is another
 * module's).
 */
export function transitionOrder(
  db: Database,
  caller: Caller,
  order: { id: string; status: OrderStatus; version: number },
  step: { action: OrderAction; to: OrderStatus; reason?: string | null },
  guard?: SQL,
): OrderTransition {
  const id = newId('otr');
  const won = sql`EXISTS (SELECT 1 FROM ${orders} WHERE ${orders.id} = ${order.id} AND ${orders.lastTransitionId} = ${id})`;
  const claim = claimStatement(db, order, step.to, id, guard);
  const effects = step.to === 'canceled' ? [releaseRedemptionStatement(db, order.id, new Date(), won)] : [];
  const record = recordStatement(db, caller, order, step, id, won);
  return { id, won, batch: (own = []) => [claim, ...effects, ...own, record] };
}

function recordStatement(
  db: Database,
  caller: Caller,
  order: { id: string; status: OrderStatus },
  step: { action: OrderAction; to: OrderStatus; reason?: string | null },
  id: string,
  won: SQL,
) {
  return insertRowIf(
    db,
    orderTransitions,
    {
      id,
      orderId: order.id,
      action: step.action,
      fromStatus: order.status,
      toStatus: step.to,
      actorType: caller.actor.type,
      actorId: caller.actor.id,
      reason: step.reason ?? null,
      requestId: caller.meta.requestId,
    },
    won,
  ).returning({ id: orderTransitions.id });
}

/**
 * Commits `transition` with the change's own statements (each guarded by `transition.won`) and its bookkeeping,
 * in the order described above. Returns false, having written nothing, if a concurrent change won.
 */
export async function commitTransition(
  db: Database,
  caller: Caller,
  transition: OrderTransition,
  change: Omit<Change, 'conditional'>,
): Promise<boolean> {
  const statements = transition.batch(change.statements);
  const results = await commit(db, caller, { ...change, statements, conditional: true });
  // The record's `.returning()` rows: one if this transition won, none if it lost.
  const recorded: unknown = results.at(-1);
  return Array.isArray(recorded) && recorded.length > 0;
}

/** The answer to a change that lost its race but would still be allowed now: the caller should look again. */
export const orderChanged = () =>
  conflict('order_changed', 'The order changed while this request ran; read it again and retry.');
