/**
 * Changes of one paid order sent at the same time, through the real Worker, when each moves its `manual` payment:
 * the first fulfilment captures it, a cancel voids it. Both requests reach the provider (manual accepts anything,
 * and two captures of the same order version send the same idempotency key, so a real provider answers both with
 * one capture), but the payment changes once, so it is recorded once: one `payment.capture` (or `payment.void`)
 * audit entry and one `payment.captured` (or `payment.voided`) event, which feed webhooks, analytics and emails.
 * The request that lost gets the answer it would have got had it been sent after the winner.
 *
 * The race is forced, not hoped for: both requests are held at the provider until both have passed their checks
 * against the same, untouched order, then one is let go and answered before the other moves on.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { manualProvider } from '../../src/modules/payments/manual-provider';
import { recordProviderUpdate } from '../../src/modules/payments/settlement';
import { admin, rows } from '../helpers/admin-fixtures';
import { stockedProduct } from '../helpers/carts';
import { seedRegions } from '../helpers/catalog-fixtures';
import { type CheckoutBody, checkoutCall, readyCart, shippingOption } from '../helpers/checkout';
import { expectProblem } from '../helpers/http';
import { db, staff } from '../helpers/payments';
import { pause, raceAtProvider } from '../helpers/provider-race';

beforeAll(async () => {
  await seedRegions();
  await shippingOption('eu', { amount: 40 });
});

/** A paid order of two lines (0.30 each) + 0.40 shipping, placed through checkout: its payment authorized 100. */
async function paidOrder(): Promise<{ orderId: string; lineIds: string[] }> {
  const made = await stockedProduct({ variants: [{ prices: { EUR: 30 } }, { prices: { EUR: 30 } }] }, 5);
  const { cartId, who } = await readyCart(made.variants.map((v) => ({ variantId: v.id })));
  const placed = await checkoutCall(cartId, who, crypto.randomUUID());
  expect(placed.status, await placed.clone().text()).toBe(201);
  const { order } = (await placed.json()) as CheckoutBody;
  expect([order.status, order.total, order.lines.length]).toStrictEqual(['paid', 100, 2]);
  return { orderId: order.id, lineIds: order.lines.map((l) => l.id) };
}

type Kind = 'capture' | 'cancel';
type Sent = { kind: Kind; path: string; body?: unknown };

const fulfilment = (orderId: string, body: Record<string, unknown> = {}): Sent => ({
  kind: 'capture',
  path: `/orders/${orderId}/fulfillments`,
  body: { carrier: 'DHL', tracking_number: 'T', ...body },
});
const cancel = (orderId: string): Sent => ({ kind: 'cancel', path: `/orders/${orderId}/cancel` });

/** Both raced at the provider (test/helpers/provider-race.ts): `first`'s capture or cancel is let go first. */
async function race(first: Sent, second: Sent): Promise<{ winner: Response; loser: Response }> {
  const { winner, loser, answered } = await raceAtProvider(
    ['capture', 'cancel'],
    [first, second],
    (call) => call.method === first.kind,
  );
  // Two requests of one kind: whichever was let go first is the winner.
  expect(first.kind === second.kind || answered[0] === 0).toBe(true);
  return { winner, loser };
}

/** What D1 holds for the order and its payment, and what the payment's events and audit entries say. */
async function recorded(orderId: string) {
  const [order] = await rows('SELECT status FROM orders WHERE id = ?', orderId);
  const [{ id: paymentId, ...payment } = {}] = await rows(
    'SELECT id, status, amount_captured, amount_refunded FROM payments WHERE order_id = ?',
    orderId,
  );
  const lines = await rows(
    'SELECT fulfilled_quantity FROM order_lines WHERE order_id = ? ORDER BY rowid',
    orderId,
  );
  const fulfillments = await rows(
    'SELECT lines FROM fulfillments WHERE order_id = ? ORDER BY rowid',
    orderId,
  );
  const transitions = await rows(
    'SELECT action, to_status FROM order_transitions WHERE order_id = ? ORDER BY rowid',
    orderId,
  );
  const paymentEvents = await rows(
    'SELECT type FROM outbox_events WHERE aggregate_id = ? ORDER BY rowid',
    paymentId,
  );
  const paymentAudit = await rows(
    "SELECT action FROM audit_log WHERE target_type = 'payment' AND target_id = ? ORDER BY rowid",
    paymentId,
  );
  const orderAudit = await rows(
    "SELECT action FROM audit_log WHERE target_type = 'order' AND target_id = ? ORDER BY rowid",
    orderId,
  );
  return {
    order,
    payment,
    fulfilledQuantities: lines.map((l) => l.fulfilled_quantity),
    fulfillments: fulfillments.length,
    transitions: transitions.map((t) => `${t.action}:${t.to_status}`),
    paymentEvents: paymentEvents.map((e) => e.type),
    paymentAudit: paymentAudit.map((a) => a.action),
    orderAudit: orderAudit.map((a) => a.action),
  };
}

/** The answer is the order as it now is: nothing was written after it. */
async function expectCurrentOrder(res: Response, status: number, orderId: string) {
  expect(res.status, await res.clone().text()).toBe(status);
  const now = await admin('GET', `/orders/${orderId}`);
  expect(await res.json()).toStrictEqual(await now.json());
}

const CAPTURED = { status: 'captured', amount_captured: 100, amount_refunded: 0 };
const VOIDED = { status: 'voided', amount_captured: 0, amount_refunded: 0 };
/** Shipped whole by one fulfilment, its capture recorded once. */
const SHIPPED_ONCE = {
  order: { status: 'fulfilled' },
  payment: CAPTURED,
  fulfilledQuantities: [1, 1],
  fulfillments: 1,
  transitions: ['place:paid', 'fulfil:fulfilled'],
  paymentEvents: ['payment.authorized', 'payment.captured'],
  paymentAudit: ['payment.capture'],
  orderAudit: ['order.fulfil'],
};
/** Canceled once, its void recorded once. */
const CANCELED_ONCE = {
  order: { status: 'canceled' },
  payment: VOIDED,
  fulfilledQuantities: [0, 0],
  fulfillments: 0,
  transitions: ['place:paid', 'cancel:canceled'],
  paymentEvents: ['payment.authorized', 'payment.voided'],
  paymentAudit: ['payment.void'],
  orderAudit: ['order.cancel'],
};

describe('two changes of a paid order that both move its payment, at the same time', () => {
  it('two fulfilments of everything: one ships and captures, the other is refused, and the capture is recorded once', async () => {
    const { orderId } = await paidOrder();
    const { winner, loser } = await race(fulfilment(orderId), fulfilment(orderId));

    await expectCurrentOrder(winner, 201, orderId);
    await expectProblem(loser, 409, 'invalid_transition');
    expect(await recorded(orderId)).toStrictEqual(SHIPPED_ONCE);
  });

  it('two fulfilments of different lines: both ship, and the capture is recorded once', async () => {
    const { orderId, lineIds } = await paidOrder();
    const { winner, loser } = await race(
      fulfilment(orderId, { lines: [{ line_id: lineIds[0], quantity: 1 }] }),
      fulfilment(orderId, { lines: [{ line_id: lineIds[1], quantity: 1 }] }),
    );

    expect(winner.status, await winner.clone().text()).toBe(201);
    expect(await winner.json()).toMatchObject({ status: 'partially_fulfilled' });
    await expectCurrentOrder(loser, 201, orderId);
    expect(await recorded(orderId)).toStrictEqual({
      order: { status: 'fulfilled' },
      payment: CAPTURED,
      fulfilledQuantities: [1, 1],
      fulfillments: 2,
      transitions: ['place:paid', 'fulfil:partially_fulfilled', 'fulfil:fulfilled'],
      paymentEvents: ['payment.authorized', 'payment.captured'],
      paymentAudit: ['payment.capture'],
      orderAudit: ['order.fulfil', 'order.fulfil'],
    });
  });

  it('a cancel, then a fulfilment: the fulfilment is refused and records no capture of the voided payment', async () => {
    const { orderId } = await paidOrder();
    const { winner, loser } = await race(cancel(orderId), fulfilment(orderId));

    await expectCurrentOrder(winner, 200, orderId);
    await expectProblem(loser, 409, 'invalid_transition');
    expect(await recorded(orderId)).toStrictEqual(CANCELED_ONCE);
  });

  it('a fulfilment, then a cancel: the cancel is refused and records no void of the captured payment', async () => {
    const { orderId } = await paidOrder();
    const { winner, loser } = await race(fulfilment(orderId), cancel(orderId));

    await expectCurrentOrder(winner, 201, orderId);
    await expectProblem(loser, 409, 'invalid_transition');
    expect(await recorded(orderId)).toStrictEqual(SHIPPED_ONCE);
  });

  it('two cancels: one cancels and voids, the other is refused, and the void is recorded once', async () => {
    const { orderId } = await paidOrder();
    const { winner, loser } = await race(cancel(orderId), cancel(orderId));

    await expectCurrentOrder(winner, 200, orderId);
    await expectProblem(loser, 409, 'invalid_transition');
    expect(await recorded(orderId)).toStrictEqual(CANCELED_ONCE);
  });
});

/**
 * The order's payment, and its `method` (the manual provider's capture or cancel) held once called until the
 * returned `release`: the test lands the provider's report meanwhile, before the request's batch.
 */
async function heldAtProvider(orderId: string, method: 'capture' | 'cancel') {
  const [{ id: paymentId }] = (await rows('SELECT id FROM payments WHERE order_id = ?', orderId)) as [
    { id: string },
  ];
  const call = { held: false, released: false };
  const real = manualProvider[method] as (...args: unknown[]) => Promise<unknown>;
  const spy = vi.spyOn(manualProvider, method).mockImplementation((async (...args: unknown[]) => {
    call.held = true;
    while (!call.released) await pause();
    return real(...args);
  }) as never);
  return {
    paymentId,
    untilHeld: async () => {
      while (!call.held) await pause();
    },
    release: () => {
      call.released = true;
    },
    restore: () => {
      call.released = true;
      spy.mockRestore();
    },
  };
}

describe('a fulfilment whose capture the provider reports first', () => {
  // A report of edgecart's own capture (its idempotency key is ours: quiet) records the move as the fulfilment
  // would have, event and audit entry, since the fulfilment then drops its own; one of a capture made elsewhere
  // records the event, as every report does.
  it.each([
    ['a report of its own capture', true, ['payment.capture']],
    ['a report of a capture made elsewhere', false, []],
  ])('ships, and leaves the capture as the webhook recorded it: %s', async (_name, quiet, paymentAudit) => {
    const { orderId } = await paidOrder();
    const provider = await heldAtProvider(orderId, 'capture');
    try {
      const sent = admin('POST', `/orders/${orderId}/fulfillments`, { carrier: 'DHL', tracking_number: 'T' });
      await provider.untilHeld();
      // The provider's webhook reports the capture while the fulfilment's batch is not yet written.
      const reported = await recordProviderUpdate(
        db,
        env,
        staff(),
        provider.paymentId,
        { status: 'captured', amountCaptured: 100 },
        { via: 'webhook', quiet },
      );
      expect(reported.outcome).not.toBe('unchanged');
      const before = await recorded(orderId);
      provider.release();
      await expectCurrentOrder(await sent, 201, orderId);
      expect(await recorded(orderId)).toStrictEqual({
        ...before,
        order: { status: 'fulfilled' },
        fulfilledQuantities: [1, 1],
        fulfillments: 1,
        transitions: ['place:paid', 'fulfil:fulfilled'],
        orderAudit: ['order.fulfil'],
      });
      expect(before.payment).toStrictEqual(CAPTURED);
      expect(before.paymentEvents).toStrictEqual(['payment.authorized', 'payment.captured']);
      expect(before.paymentAudit).toStrictEqual(paymentAudit);
    } finally {
      provider.restore();
    }
  });
});

describe('a cancel whose void the provider reports first, as its own', () => {
  it('cancels, and the void is recorded once, by the report: its event and audit entry', async () => {
    const { orderId } = await paidOrder();
    const provider = await heldAtProvider(orderId, 'cancel');
    try {
      const sent = admin('POST', `/orders/${orderId}/cancel`);
      await provider.untilHeld();
      const reported = await recordProviderUpdate(
        db,
        env,
        staff(),
        provider.paymentId,
        { status: 'voided' },
        { via: 'webhook', quiet: true },
      );
      expect(reported.outcome).toBe('changed');
      provider.release();
      await expectCurrentOrder(await sent, 200, orderId);
      expect(await recorded(orderId)).toStrictEqual(CANCELED_ONCE);
    } finally {
      provider.restore();
    }
  });
});
