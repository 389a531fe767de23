/**
 * What staff do to an order, through the admin API against real local D1: fulfil (in parts or whole), mark
 * delivered, cancel. Every transition is recorded with its actor and time in the batch of the change, with an
 * audit entry and an event; a transition the state machine does not allow is a 409 that changes nothing; of
 * concurrent transitions exactly one applies.
 */
import { env } from 'cloudflare:workers';
import { and, eq } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { beforeAll, describe, expect, it } from 'vitest';
import { orderLines } from '../../src/db/schema';
import { systemCaller } from '../../src/lib/caller';
import { computedEvent } from '../../src/lib/commit';
import { createDb } from '../../src/lib/db';
import type { AppError } from '../../src/lib/errors';
import { cancelOrder, fulfilOrder } from '../../src/modules/orders/admin-service';
import { findOrder } from '../../src/modules/orders/read';
import { commitTransition, transitionOrder } from '../../src/modules/orders/transitions';
import { insertSecretKey, snapshotD1 } from '../helpers/admin';
import { seedRegions } from '../helpers/catalog-fixtures';
import { bearer, call, expectProblem, jsonInit } from '../helpers/http';
import { insertAuthorizedOrder, insertOrder, type PlacedFixture } from '../helpers/order-fixtures';

let key: { id: string; key: string };
beforeAll(async () => {
  await seedRegions();
  key = await insertSecretKey(['orders:read', 'orders:write']);
});

function asStaff(method: string, path: string, body?: unknown) {
  const init =
    body === undefined ? { method, headers: bearer(key.key) } : jsonInit(method, body, bearer(key.key));
  return call(`/v1/admin${path}`, init);
}

const fulfil = (order: PlacedFixture, body: Record<string, unknown> = {}) =>
  asStaff('POST', `/orders/${order.order.id}/fulfillments`, {
    carrier: 'DHL',
    tracking_number: 'TRACK-1',
    ...body,
  });

type AdminOrder = {
  status: string;
  version?: never;
  lines: { id: string; fulfilled_quantity: number }[];
  fulfillments: {
    id: string;
    carrier: string;
    tracking_number: string;
    lines: unknown[];
    created_at: string;
  }[];
  transitions: {
    action: string;
    from: string | null;
    to: string;
    actor_type: string;
    actor_id: string;
    reason: string | null;
  }[];
};

async function adminOrder(order: PlacedFixture): Promise<AdminOrder> {
  const res = await asStaff('GET', `/orders/${order.order.id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as AdminOrder;
}

async function bookkeeping(orderId: string) {
  const audit = await env.DB.prepare(
    "SELECT actor_type, actor_id, action, changes FROM audit_log WHERE target_type = 'order' AND target_id = ? ORDER BY rowid",
  )
    .bind(orderId)
    .all<{ actor_type: string; actor_id: string; action: string; changes: string }>();
  const events = await env.DB.prepare(
    "SELECT type, payload FROM outbox_events WHERE aggregate_type = 'order' AND aggregate_id = ? ORDER BY rowid",
  )
    .bind(orderId)
    .all<{ type: string; payload: string }>();
  return {
    audit: audit.results.map((r) => ({ ...r, changes: JSON.parse(r.changes) as unknown })),
    events: events.results.map((r) => ({ type: r.type, payload: JSON.parse(r.payload) })),
  };
}

describe('fulfilling an order', () => {
  it('ships part, then the rest: partially fulfilled, then fulfilled, each recorded with the actor', async () => {
    const placed = await insertAuthorizedOrder();
    const [mug, teapot] = placed.lines;

    const first = await fulfil(placed, { lines: [{ line_id: mug!.id, quantity: 1 }] });
    expect(first.status).toBe(201);
    const afterFirst = (await first.json()) as AdminOrder;
    expect(afterFirst.status).toBe('partially_fulfilled');
    expect(afterFirst.lines.map((l) => l.fulfilled_quantity)).toStrictEqual([1, 0]);
    expect(afterFirst.fulfillments).toStrictEqual([
      {
        id: expect.stringMatching(/^ful_/),
        carrier: 'DHL',
        tracking_number: 'TRACK-1',
        lines: [{ line_id: mug!.id, quantity: 1 }],
        created_at: expect.any(String),
      },
    ]);

    const rest = await fulfil(placed, { carrier: 'UPS', tracking_number: 'TRACK-2' });
    expect(rest.status).toBe(201);
    const done = (await rest.json()) as AdminOrder;
    expect(done.status).toBe('fulfilled');
    expect(done.lines.map((l) => l.fulfilled_quantity)).toStrictEqual([2, 1]);
    expect(done.fulfillments.map((f) => f.lines)).toStrictEqual([
      [{ line_id: mug!.id, quantity: 1 }],
      [
        { line_id: mug!.id, quantity: 1 },
        { line_id: teapot!.id, quantity: 1 },
      ],
    ]);
    expect(
      done.transitions.map(({ action, from, to, actor_type, actor_id, reason }) => ({
        action,
        from,
        to,
        actor_type,
        actor_id,
        reason,
      })),
    ).toStrictEqual([
      { action: 'place', from: null, to: 'paid', actor_type: 'system', actor_id: 'checkout', reason: null },
      {
        action: 'fulfil',
        from: 'paid',
        to: 'partially_fulfilled',
        actor_type: 'secret_key',
        actor_id: key.id,
        reason: null,
      },
      {
        action: 'fulfil',
        from: 'partially_fulfilled',
        to: 'fulfilled',
        actor_type: 'secret_key',
        actor_id: key.id,
        reason: null,
      },
    ]);

    const { audit, events } = await bookkeeping(placed.order.id);
    const firstShipment = done.fulfillments[0]!;
    expect(audit[0]).toStrictEqual({
      actor_type: 'secret_key',
      actor_id: key.id,
      action: 'order.fulfil',
      changes: {
        from: 'paid',
        to: 'partially_fulfilled',
        fulfillment_id: firstShipment.id,
        carrier: 'DHL',
        tracking_number: 'TRACK-1',
        lines: [{ line_id: mug!.id, quantity: 1 }],
      },
    });
    expect(events.map((e) => e.type)).toStrictEqual(['order.partially_fulfilled', 'order.fulfilled']);
    expect(events[1]!.payload).toMatchObject({
      id: placed.order.id,
      number: placed.order.number,
      from: 'partially_fulfilled',
      to: 'fulfilled',
    });
  });

  it('refuses lines that are not in the order or more than is left (422), and a fulfilled order (409)', async () => {
    const placed = await insertAuthorizedOrder();
    const [mug] = placed.lines;
    const before = await snapshotD1();
    const refused = await fulfil(placed, {
      lines: [
        { line_id: mug!.id, quantity: 3 },
        { line_id: 'oli_unknown', quantity: 1 },
      ],
    });
    await expectProblem(refused, 422, 'invalid_fulfillment', [
      { pointer: '/body/lines/0/quantity', message: 'Only 2 left to fulfil' },
      { pointer: '/body/lines/1/line_id', message: 'No such line in this order' },
    ]);
    const duplicate = await fulfil(placed, {
      lines: [
        { line_id: mug!.id, quantity: 1 },
        { line_id: mug!.id, quantity: 1 },
      ],
    });
    expect(duplicate.status).toBe(422);
    expect(await snapshotD1()).toStrictEqual({ ...before, api_keys: expect.anything() });

    expect((await fulfil(placed)).status).toBe(201);
    await expectProblem(await fulfil(placed), 409, 'invalid_transition');
  });

  it('refuses to ship an order that is not paid or was canceled', async () => {
    for (const status of ['pending_payment', 'canceled', 'refunded'] as const) {
      const placed = await insertOrder({ status });
      await expectProblem(await fulfil(placed), 409, 'invalid_transition');
      expect((await adminOrder(placed)).transitions).toHaveLength(1);
    }
  });

  it('ships what is left of a partially refunded order, which stays partially refunded', async () => {
    const placed = await insertAuthorizedOrder({ status: 'partially_refunded' });
    const res = await fulfil(placed);
    expect(res.status).toBe(201);
    const order = (await res.json()) as AdminOrder;
    expect(order.status).toBe('partially_refunded');
    expect(order.transitions.at(-1)).toMatchObject({
      action: 'fulfil',
      from: 'partially_refunded',
      to: 'partially_refunded',
    });
    expect((await bookkeeping(placed.order.id)).events.map((e) => e.type)).toStrictEqual(['order.fulfilled']);
  });
});

describe('delivery and cancellation', () => {
  it('marks a fulfilled order delivered, once', async () => {
    const placed = await insertOrder({ status: 'fulfilled' });
    const res = await asStaff('POST', `/orders/${placed.order.id}/deliver`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as AdminOrder).status).toBe('delivered');
    await expectProblem(
      await asStaff('POST', `/orders/${placed.order.id}/deliver`),
      409,
      'invalid_transition',
    );
    expect((await bookkeeping(placed.order.id)).events.map((e) => e.type)).toStrictEqual(['order.delivered']);
  });

  it('cancels an unshipped order with a reason; a shipped or canceled one is a 409', async () => {
    const placed = await insertOrder();
    const res = await asStaff('POST', `/orders/${placed.order.id}/cancel`, { reason: 'Customer asked' });
    expect(res.status).toBe(200);
    const order = (await res.json()) as AdminOrder;
    expect(order.status).toBe('canceled');
    expect(order.transitions.at(-1)).toMatchObject({
      action: 'cancel',
      from: 'paid',
      to: 'canceled',
      reason: 'Customer asked',
    });
    expect((await bookkeeping(placed.order.id)).events).toStrictEqual([
      {
        type: 'order.canceled',
        payload: {
          id: placed.order.id,
          number: placed.order.number,
          from: 'paid',
          to: 'canceled',
          reason: 'Customer asked',
          // The fixture's region id has no regions row: the event names the region by its id then.
          region: 'reg_test',
          country: 'DE',
          currency: 'EUR',
          amount: placed.order.total,
        },
      },
    ]);
    await expectProblem(
      await asStaff('POST', `/orders/${placed.order.id}/cancel`),
      409,
      'invalid_transition',
    );

    const shipped = await insertOrder({ status: 'partially_fulfilled' });
    await expectProblem(
      await asStaff('POST', `/orders/${shipped.order.id}/cancel`),
      409,
      'invalid_transition',
    );
  });

  it('cancels an order awaiting payment without a body', async () => {
    const placed = await insertOrder({ status: 'pending_payment' });
    const res = await asStaff('POST', `/orders/${placed.order.id}/cancel`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as AdminOrder).transitions.at(-1)).toMatchObject({
      from: 'pending_payment',
      to: 'canceled',
      reason: null,
    });
  });

  it('answers 404 for an order that does not exist', async () => {
    await expectProblem(await asStaff('POST', '/orders/ord_missing/cancel'), 404, 'not_found');
    await expectProblem(await asStaff('GET', '/orders/ord_missing'), 404, 'not_found');
  });

  it('needs orders:write to change an order', async () => {
    const reader = await insertSecretKey(['orders:read']);
    const placed = await insertOrder();
    const res = await call(`/v1/admin/orders/${placed.order.id}/cancel`, {
      method: 'POST',
      headers: bearer(reader.key),
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe('forbidden');
  });
});

describe('concurrent transitions', () => {
  it('of a cancel and a fulfilment racing, exactly one applies and the other is told why', async () => {
    for (let round = 0; round < 5; round++) {
      const placed = await insertAuthorizedOrder();
      const [cancel, ship] = await Promise.all([
        asStaff('POST', `/orders/${placed.order.id}/cancel`),
        fulfil(placed),
      ]);
      const statuses = [cancel.status, ship.status].sort();
      expect([
        [200, 409],
        [201, 409],
      ]).toContainEqual(statuses);
      const loser = cancel.status === 409 ? cancel : ship;
      // A fulfilment that reaches the payment after the cancel voided it is refused for that.
      expect(['invalid_transition', 'order_changed', 'payment_not_capturable']).toContain(
        ((await loser.json()) as { code: string }).code,
      );
      const order = await adminOrder(placed);
      expect(order.transitions).toHaveLength(2);
      expect(order.status).toBe(cancel.status === 200 ? 'canceled' : 'fulfilled');
      expect(order.fulfillments).toHaveLength(cancel.status === 200 ? 0 : 1);
      const { audit, events } = await bookkeeping(placed.order.id);
      expect([audit.length, events.length]).toStrictEqual([1, 1]);
    }
  });

  it('of two partial fulfilments racing for the last unit, one ships it and nothing is shipped twice', async () => {
    const placed = await insertAuthorizedOrder();
    const [, teapot] = placed.lines;
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        fulfil(placed, { tracking_number: `RACE-${i}`, lines: [{ line_id: teapot!.id, quantity: 1 }] }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    // Each loser is answered against the order as the winner left it: nothing left of that line to ship.
    for (const res of results.filter((r) => r.status !== 201)) {
      const problem = (await res.json()) as { status: number; code: string };
      expect([
        { status: 409, code: 'order_changed' },
        { status: 422, code: 'invalid_fulfillment' },
      ]).toContainEqual({ status: problem.status, code: problem.code });
    }
    const order = await adminOrder(placed);
    expect(order.lines.map((l) => l.fulfilled_quantity)).toStrictEqual([0, 1]);
    expect(order.fulfillments).toHaveLength(1);
    expect(order.transitions).toHaveLength(2);
  });
});

describe('a transition that lost its race', () => {
  const db = createDb(env.DB);
  const caller = systemCaller('race-test', 'run-race');

  it('writes nothing at all: no status, rows of its own, transition, audit entry or event', async () => {
    const placed = await insertOrder();
    const [mug] = placed.lines;
    const read = await findOrder(db, placed.order.id);
    const cancel = transitionOrder(db, caller, read, { action: 'cancel', to: 'canceled' });
    const ship = transitionOrder(db, caller, read, { action: 'fulfil', to: 'partially_fulfilled' });

    const change = (statements: BatchItem<'sqlite'>[], type: string) => ({
      statements,
      audit: { action: type, targetType: 'order', targetId: read.id },
      events: [
        computedEvent({
          type,
          aggregateType: 'order',
          aggregateId: read.id,
          payload: {
            id: read.id,
            number: read.number,
            from: read.status,
            to: type.slice('order.'.length),
            ...(type === 'order.canceled'
              ? { region: 'eu', country: 'DE', currency: read.currency, amount: read.total }
              : {}),
          },
        }),
      ],
    });
    expect(await commitTransition(db, caller, cancel, change([], 'order.canceled'))).toBe(true);
    const staleShipment = [
      db
        .update(orderLines)
        .set({ fulfilledQuantity: 1 })
        .where(and(eq(orderLines.id, mug!.id), ship.won)),
    ];
    expect(await commitTransition(db, caller, ship, change(staleShipment, 'order.partially_fulfilled'))).toBe(
      false,
    );

    const order = await adminOrder(placed);
    expect(order.status).toBe('canceled');
    expect(order.lines.map((l) => l.fulfilled_quantity)).toStrictEqual([0, 0]);
    expect(order.transitions.map((t) => t.to)).toStrictEqual(['paid', 'canceled']);
    const { audit, events } = await bookkeeping(placed.order.id);
    expect(audit.map((a) => a.action)).toStrictEqual(['order.canceled']);
    expect(events.map((e) => e.type)).toStrictEqual(['order.canceled']);
  });

  it('loses to a change that kept the status too: the version decides', async () => {
    const placed = await insertOrder({ status: 'partially_fulfilled' });
    const read = await findOrder(db, placed.order.id);
    const first = transitionOrder(db, caller, read, { action: 'fulfil', to: 'partially_fulfilled' });
    const second = transitionOrder(db, caller, read, { action: 'fulfil', to: 'partially_fulfilled' });
    expect(await commitTransition(db, caller, first, { statements: [] })).toBe(true);
    expect(await commitTransition(db, caller, second, { statements: [] })).toBe(false);
    expect((await adminOrder(placed)).transitions).toHaveLength(2);
  });

  it('is answered with the precise refusal, or order_changed, by the service', async () => {
    for (let round = 0; round < 5; round++) {
      const placed = await insertAuthorizedOrder();
      const staff = {
        ...caller,
        principal: { type: 'secret_key' as const, id: key.id, permissions: new Set([]) },
      };
      const outcomes = await Promise.allSettled([
        cancelOrder(env, staff, placed.order.id, {}),
        fulfilOrder(env, staff, placed.order.id, { carrier: 'DHL', tracking_number: 'T' }),
      ]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const refused = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(['invalid_transition', 'order_changed', 'payment_not_capturable']).toContain(
        (refused!.reason as AppError).code,
      );
      expect((await adminOrder(placed)).transitions).toHaveLength(2);
    }
  });
});
