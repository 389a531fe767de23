/**
 * One change of an order, start to finish: plan it against the order as read (the checks: a refused request
 * writes nothing), move money once if it needs to (a capture, a refund, a void), then commit the transition
 * (./transitions.ts) with the change's rows, the payment's record, an audit entry and an event.
 *
 * If a concurrent change wins the race, the change is planned again on the order as the winner left it, and
 * either committed on top of it (two fulfilments of different lines both go through) or refused precisely
 * (409 `invalid_transition`, 422 `invalid_fulfillment`). Money that already moved is never lost that way: the
 * payment's statements apply whatever the order's state (see src/modules/payments/service.ts), ride in every
 * attempt unguarded, and are committed on their own, with their audit entry and event, if the order change
 * itself ends up refused.
 *
 * A refund's statements are the exception: they fail the whole batch rather than record more than was captured
 * (two refunds planned against the same payment at once). Nothing is written then, and the change is planned
 * once more on the order as it is now, to answer with the precise refusal, or 409 `order_changed`.
 *
 * A capture's or a void's statements do not ride unguarded either (their `move`): they apply only in the attempt
 * that wins, with the audit entry and event of the move, and fail it if the payment left the state they move it
 * from (a webhook recorded the capture). Once another request or the provider's report has moved the payment
 * (two fulfilments, a fulfilment and a cancel, two cancels at once), they are dropped: the change goes on, or is
 * refused, without a second `payment.captured` or `payment.voided`. Committed on their own after a refusal, they
 * are `conditional` on their UPDATE, which changes no row once the payment has moved.
 */
import type { SQL } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { OrderStatus } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { commit, computedEvent, type FollowUp } from '../../lib/commit';
import { createDb, type Database } from '../../lib/db';
import type { IdempotencyRecord } from '../../lib/idempotency';
import type { PaymentWrites } from '../payments/service';
import { findOrder, loadOrderParts, type OrderParts } from './read';
import type { OrderRow } from './schemas';
import { nextStatus, type OrderEvent } from './state';
import { commitTransition, orderChanged, transitionOrder } from './transitions';

/** What one change does, planned against the order as read. */
export type OrderChangePlan = {
  event: OrderEvent;
  reason?: string | null;
  /** The change's own rows; every statement must be guarded by `won`. */
  statements?: (db: Database, won: SQL) => BatchItem<'sqlite'>[];
  /** Added to the audit entry's changes and the event's payload. */
  details?: Record<string, unknown>;
};

export type OrderChange = {
  /**
   * Runs again on the order as it is after a lost race, or after money that could not be recorded failed the
   * batch (then it throws why the change is refused now); may read (the payment), must not write.
   */
  plan: (parts: OrderParts) => OrderChangePlan | Promise<OrderChangePlan>;
  /** Moves money once, after the first plan: the provider call and the payment's writes (a refund's unguarded). */
  money?: (parts: OrderParts, plan: OrderChangePlan) => Promise<PaymentWrites | null>;
  /** Work after the commit (stock), given the order as the change left it. */
  afterCommit?: (order: OrderRow) => FollowUp[];
  /** The request's Idempotency-Key record, completed in the batch that applies the change (never with money alone). */
  idempotency?: IdempotencyRecord | undefined;
};

/** Attempts before giving up on an order that keeps changing under the request. */
const MAX_ATTEMPTS = 3;

const NO_MONEY: PaymentWrites = { statements: [], audit: [], events: [] };
/** Thrown by a commit's recheck when the payment it was to capture or void was moved by someone else. */
const MOVED_ELSEWHERE = new Error('the payment was moved by another request');

// Every refund, partial or full, is one `order.refunded` (its `to` tells which): revenue adds them up.
const eventType = (event: OrderEvent, to: OrderStatus): string => {
  if (event.action === 'fulfil') return event.complete ? 'order.fulfilled' : 'order.partially_fulfilled';
  if (event.action === 'refund') return 'order.refunded';
  return `order.${to}`;
};

/** Applies `change` to the order; returns the order as the change left it. */
export async function changeOrder(
  env: Env,
  caller: Caller,
  orderId: string,
  change: OrderChange,
): Promise<OrderRow> {
  const db = createDb(env.DB);
  let parts = await loadOrderParts(db, await findOrder(db, orderId));
  let plan = await change.plan(parts);
  let money = (await change.money?.(parts, plan)) ?? NO_MONEY;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const { order } = parts;
    const to = nextStatus(order.status, plan.event);
    const transition = transitionOrder(db, caller, order, {
      action: plan.event.action,
      to,
      reason: plan.reason,
    });
    const summary = {
      from: order.status,
      to,
      ...(plan.reason ? { reason: plan.reason } : {}),
      ...plan.details,
    };
    const orderEvent = computedEvent({
      type: eventType(plan.event, to),
      aggregateType: 'order',
      aggregateId: order.id,
      payload: { id: order.id, number: order.number, ...summary },
    });
    const after: OrderRow = {
      ...order,
      status: to,
      version: order.version + 1,
      lastTransitionId: transition.id,
    };
    const { move } = money;
    let won = false;
    try {
      won = await commitTransition(db, caller, transition, {
        statements: [
          ...(plan.statements?.(db, transition.won) ?? []),
          ...(move ? move.guarded(transition.won) : money.statements),
        ],
        audit: [
          { action: `order.${plan.event.action}`, targetType: 'order', targetId: order.id, changes: summary },
          ...money.audit,
        ],
        events: [orderEvent, ...money.events],
        idempotency: change.idempotency,
        afterCommit: change.afterCommit?.(after),
        recheck: async () => {
          // The payment left the state the capture or void moves it from (a webhook recorded it): drop it, go again.
          if (move && !(await move.pending())) throw MOVED_ELSEWHERE;
          const now = await loadOrderParts(db, await findOrder(db, orderId));
          nextStatus(now.order.status, (await change.plan(now)).event);
          throw orderChanged();
        },
      });
    } catch (error) {
      if (error !== MOVED_ELSEWHERE) throw error;
      money = NO_MONEY;
    }
    if (won) return after;
    parts = await loadOrderParts(db, await findOrder(db, orderId));
    // The winner moved the payment this change would have (its capture, or a void): it is recorded, with its own
    // audit entry and event, so this change goes on, or is refused, without them.
    if (money.move && !(await money.move.pending())) money = NO_MONEY;
    try {
      plan = await change.plan(parts);
      nextStatus(parts.order.status, plan.event);
    } catch (refusal) {
      await recordMoney(db, caller, money);
      throw refusal;
    }
  }
  await recordMoney(db, caller, money);
  throw orderChanged();
}

/**
 * Commits money that moved for a change that could not be applied, so the payment record is never behind. A
 * capture's or a void's UPDATE is the last statement and changes no row if another request moved the payment
 * first: then its audit entry and event are not written either.
 */
async function recordMoney(db: Database, caller: Caller, money: PaymentWrites): Promise<void> {
  if (money.statements.length === 0) return;
  await commit(db, caller, {
    statements: money.statements,
    audit: money.audit,
    events: money.events,
    conditional: money.move !== undefined,
  });
}
