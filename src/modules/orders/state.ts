/**
 * The order state machine: which action may move an order from which status, and to which. Pure (no I/O), so
 * the table is tested on its own and written down in docs/ARCHITECTURE.md ("Orders").
 *
 * The status is the order's headline. Goods and money have their own detail on the order (each line's
 * `fulfilled_quantity`, the order's `refunded_total`), so a status never has to encode both at once: once money
 * has gone back, the status says so (`partially_refunded`), and shipping what is left keeps it there.
 */
import type { OrderAction, OrderStatus } from '../../db/schema';
import { AppError } from '../../lib/errors';

/** What happened, with what the target status depends on. Placing an order is not a transition from anything. */
export type OrderEvent =
  | { action: 'pay' }
  /** `complete`: after this shipment every line is fulfilled in full. */
  | { action: 'fulfil'; complete: boolean }
  | { action: 'deliver' }
  | { action: 'cancel' }
  /** `full`: after this refund the refunded total equals the order total. */
  | { action: 'refund'; full: boolean }
  /**
   * A refund the provider failed or canceled (settlement.ts): `remaining`, whether refunded money is left after it;
   * `before`, the status without any refund (the one before the first refund, with what shipped since).
   */
  | { action: 'refund_failed'; remaining: boolean; before: OrderStatus };

type TransitionAction = Exclude<OrderAction, 'place'>;
type Target<A extends TransitionAction> = (event: Extract<OrderEvent, { action: A }>) => OrderStatus;

/** The statuses an order can be placed in: awaiting an asynchronous payment, or paid at checkout. */
export const PLACED_STATUSES = ['pending_payment', 'paid'] as const satisfies readonly OrderStatus[];

const fulfilTarget: Target<'fulfil'> = (e) => (e.complete ? 'fulfilled' : 'partially_fulfilled');
const refundTarget: Target<'refund'> = (e) => (e.full ? 'refunded' : 'partially_refunded');
const refundFailedTarget: Target<'refund_failed'> = (e) => (e.remaining ? 'partially_refunded' : e.before);

/** For each action, the statuses it is allowed from and the status it leads to. Anything else is refused. */
const TRANSITIONS: { [A in TransitionAction]: Partial<Record<OrderStatus, Target<A>>> } = {
  pay: { pending_payment: () => 'paid' },
  fulfil: {
    paid: fulfilTarget,
    partially_fulfilled: fulfilTarget,
    partially_refunded: () => 'partially_refunded',
  },
  deliver: { fulfilled: () => 'delivered' },
  cancel: { pending_payment: () => 'canceled', paid: () => 'canceled' },
  refund: {
    paid: refundTarget,
    partially_fulfilled: refundTarget,
    fulfilled: refundTarget,
    delivered: refundTarget,
    partially_refunded: refundTarget,
  },
  refund_failed: { partially_refunded: refundFailedTarget, refunded: refundFailedTarget },
};

export function invalidTransition(from: OrderStatus, action: OrderAction): AppError {
  return new AppError(
    409,
    'invalid_transition',
    `An order that is ${from.replaceAll('_', ' ')} cannot be ${PAST_TENSE[action]}.`,
  );
}

const PAST_TENSE: Record<OrderAction, string> = {
  place: 'placed',
  pay: 'paid',
  fulfil: 'fulfilled',
  deliver: 'marked delivered',
  cancel: 'canceled',
  refund: 'refunded',
  refund_failed: 'given back a failed refund',
};

/** Whether `action` is allowed from `from` at all (before its details, such as quantities, are known). */
export function allows(from: OrderStatus, action: TransitionAction): boolean {
  return TRANSITIONS[action][from] !== undefined;
}

/** The status `event` leads to from `from`; a 409 `invalid_transition` if the table does not allow it. */
export function nextStatus(from: OrderStatus, event: OrderEvent): OrderStatus {
  const target = TRANSITIONS[event.action][from] as ((e: OrderEvent) => OrderStatus) | undefined;
  if (!target) throw invalidTransition(from, event.action);
  return target(event);
}
