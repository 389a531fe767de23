/**
 * The order state machine (src/modules/orders/state.ts) on its own: every (status, event) pair is either in the
 * table below, which docs/ARCHITECTURE.md ("Order states") writes down, or refused with 409 invalid_transition.
 */
import { describe, expect, it } from 'vitest';
import { ORDER_STATUSES, type OrderStatus } from '../../src/db/schema';
import { AppError } from '../../src/lib/errors';
import { allows, nextStatus, type OrderEvent, PLACED_STATUSES } from '../../src/modules/orders/state';

const EVENTS: OrderEvent[] = [
  { action: 'pay' },
  { action: 'fulfil', complete: false },
  { action: 'fulfil', complete: true },
  { action: 'deliver' },
  { action: 'cancel' },
  { action: 'refund', full: false },
  { action: 'refund', full: true },
  { action: 'refund_failed', remaining: true, before: 'fulfilled' },
  { action: 'refund_failed', remaining: false, before: 'fulfilled' },
];

const label = (e: OrderEvent) =>
  e.action === 'fulfil'
    ? `fulfil ${e.complete ? 'all' : 'part'}`
    : e.action === 'refund'
      ? `refund ${e.full ? 'all' : 'part'}`
      : e.action === 'refund_failed'
        ? `refund failed, ${e.remaining ? 'some' : 'none'} left`
        : e.action;

/** from -> event -> to; every pair not listed is refused. */
const ALLOWED: Record<OrderStatus, Record<string, OrderStatus>> = {
  pending_payment: { pay: 'paid', cancel: 'canceled' },
  paid: {
    'fulfil part': 'partially_fulfilled',
    'fulfil all': 'fulfilled',
    cancel: 'canceled',
    'refund part': 'partially_refunded',
    'refund all': 'refunded',
  },
  partially_fulfilled: {
    'fulfil part': 'partially_fulfilled',
    'fulfil all': 'fulfilled',
    'refund part': 'partially_refunded',
    'refund all': 'refunded',
  },
  fulfilled: { deliver: 'delivered', 'refund part': 'partially_refunded', 'refund all': 'refunded' },
  delivered: { 'refund part': 'partially_refunded', 'refund all': 'refunded' },
  canceled: {},
  partially_refunded: {
    'fulfil part': 'partially_refunded',
    'fulfil all': 'partially_refunded',
    'refund part': 'partially_refunded',
    'refund all': 'refunded',
    'refund failed, some left': 'partially_refunded',
    'refund failed, none left': 'fulfilled',
  },
  refunded: {
    'refund failed, some left': 'partially_refunded',
    'refund failed, none left': 'fulfilled',
  },
};

function outcome(from: OrderStatus, event: OrderEvent): OrderStatus | string {
  try {
    return nextStatus(from, event);
  } catch (error) {
    if (error instanceof AppError) return `${error.status} ${error.code}`;
    throw error;
  }
}

describe('order state machine', () => {
  it('allows exactly the transitions of the table and refuses every other with 409 invalid_transition', () => {
    const table = Object.fromEntries(
      ORDER_STATUSES.map((from) => [
        from,
        Object.fromEntries(EVENTS.map((e) => [label(e), outcome(from, e)])),
      ]),
    );
    const expected = Object.fromEntries(
      ORDER_STATUSES.map((from) => [
        from,
        Object.fromEntries(
          EVENTS.map((e) => [label(e), ALLOWED[from][label(e)] ?? '409 invalid_transition']),
        ),
      ]),
    );
    expect(table).toStrictEqual(expected);
  });

  it('says what was refused', () => {
    expect(() => nextStatus('canceled', { action: 'fulfil', complete: true })).toThrow(
      'An order that is canceled cannot be fulfilled.',
    );
    expect(() => nextStatus('pending_payment', { action: 'deliver' })).toThrow(
      'An order that is pending payment cannot be marked delivered.',
    );
  });

  it('ends in canceled and refunded: nothing leaves them but a refund the provider failed', () => {
    expect(EVENTS.map((e) => outcome('canceled', e))).toStrictEqual(
      EVENTS.map(() => '409 invalid_transition'),
    );
    const staffActions = EVENTS.filter((e) => e.action !== 'refund_failed');
    expect(staffActions.map((e) => outcome('refunded', e))).toStrictEqual(
      staffActions.map(() => '409 invalid_transition'),
    );
  });

  it('takes a refunded order back to the status it had before its refunds when none is left', () => {
    for (const before of ['paid', 'partially_fulfilled', 'fulfilled', 'delivered'] as const) {
      expect(nextStatus('refunded', { action: 'refund_failed', remaining: false, before })).toBe(before);
    }
  });

  it('places orders only as pending payment or paid', () => {
    expect(PLACED_STATUSES).toStrictEqual(['pending_payment', 'paid']);
  });

  it('answers whether an action is allowed before its details are known', () => {
    expect(allows('paid', 'fulfil')).toBe(true);
    expect(allows('partially_refunded', 'fulfil')).toBe(true);
    expect(allows('fulfilled', 'fulfil')).toBe(false);
    expect(allows('delivered', 'cancel')).toBe(false);
  });
});
