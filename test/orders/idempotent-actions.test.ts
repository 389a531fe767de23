/**
 * Staff actions on an order retried with their Idempotency-Key: a refund, a partial fulfilment, a cancel or a
 * delivery whose answer was lost runs once; the retry gets the first status, the order as it is now and
 * `Idempotent-Replayed: true`. Orders are placed through real checkout, Stripe faked at the fetch boundary.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { issueSecretKey } from '../../src/auth/secret-key';
import { orders } from '../../src/db/schema';
import { claimRefunds, REFUND_CLAIMS_JOB } from '../../src/jobs/refund-claims';
import { systemCaller } from '../../src/lib/caller';
import { createLogger } from '../../src/lib/logger';
import { PERMISSIONS } from '../../src/lib/permissions';
import { stockSnapshot } from '../../src/modules/inventory/stock';
import {
  refundForOrder,
  refundKeyOf,
  releasePaymentForCancel,
} from '../../src/modules/orders/order-payments';
import type { OrderRow } from '../../src/modules/orders/schemas';
import { CLAIM_GRACE_MS } from '../../src/modules/payments/refund-claims';
import { admin, rows } from '../helpers/admin-fixtures';
import { seedRegions } from '../helpers/catalog-fixtures';
import { shippingOption } from '../helpers/checkout';
import { deliver, FakeStripe, stripeEvent } from '../helpers/fake-stripe';
import { bearer, call, expectProblem, jsonInit } from '../helpers/http';
import { db, staff } from '../helpers/payments';
import { paidOrder } from '../helpers/placed-orders';

const stripe = new FakeStripe();
stripe.install();

beforeAll(async () => {
  await seedRegions();
  await shippingOption('eu', { amount: 500 });
});

const withKey = (key: string) => ({ headers: { 'Idempotency-Key': key } });

/** What a staff action leaves in storage for the order: every row a second run would add to. */
async function orderRecord(orderId: string) {
  const [order] = await rows('SELECT status, version, refunded_total FROM orders WHERE id = ?', orderId);
  return {
    order,
    transitions: await rows(
      'SELECT action, from_status, to_status FROM order_transitions WHERE order_id = ? ORDER BY rowid',
      orderId,
    ),
    fulfillments: await rows('SELECT carrier, tracking_number FROM fulfillments WHERE order_id = ?', orderId),
    refunds: await rows(
      'SELECT r.amount, r.status FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE p.order_id = ?',
      orderId,
    ),
    events: (
      await rows(
        "SELECT type FROM outbox_events WHERE aggregate_type = 'order' AND aggregate_id = ? ORDER BY rowid",
        orderId,
      )
    ).map((r) => r.type),
    audit: (
      await rows(
        "SELECT action FROM audit_log WHERE target_type = 'order' AND target_id = ? ORDER BY rowid",
        orderId,
      )
    ).map((r) => r.action),
  };
}

/** The order as staff read it now. */
async function currentOrder(orderId: string): Promise<unknown> {
  const res = await admin('GET', `/orders/${orderId}`);
  expect(res.status).toBe(200);
  return res.json();
}

async function shippedOrder(provider: 'manual' | 'stripe' = 'manual') {
  const placed = await paidOrder(provider);
  const res = await admin('POST', `/orders/${placed.id}/fulfillments`, {
    carrier: 'DHL',
    tracking_number: 'T',
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return placed;
}

const stripeRefunds = () => stripe.requests.filter((r) => new URL(r.url).pathname === '/v1/refunds').length;

/** A paid Stripe order whose authorization staff captured in Stripe's dashboard, the capture reported. */
async function capturedInDashboard() {
  const placed = await paidOrder('stripe');
  Object.assign(stripe.intents.get(placed.providerRef) ?? {}, { status: 'succeeded', amount_received: 2500 });
  const captured = stripeEvent('payment_intent.succeeded', stripe.intents.get(placed.providerRef));
  expect((await deliver(captured)).status).toBe(200);
  return placed;
}

/**
 * `capturedInDashboard`, then a staff cancel whose Worker died past Stripe: its refund of everything made, its
 * batch lost, Stripe's report of the refund recorded (unclaimed).
 */
async function cancelDiedPastStripe() {
  const placed = await capturedInDashboard();
  const [order] = await db.select().from(orders).where(eq(orders.id, placed.id));
  const died = await releasePaymentForCancel(db, env, staff(), order as OrderRow);
  expect(died?.events.map((e) => e.type)).toStrictEqual(['payment.refunded']);
  const ownKey = stripe.lastRequest('/refunds').headers['idempotency-key'] ?? '';
  const report = stripeEvent('charge.refunded', stripe.charge(placed.providerRef), ownKey);
  expect((await deliver(report)).status).toBe(200);
  return placed;
}

/** The refund-claims job's run at `now`. */
const sweepAt = (now: number) =>
  claimRefunds(
    { runId: 'run', logger: createLogger({}), caller: systemCaller(REFUND_CLAIMS_JOB, 'run'), env },
    now,
  );

/**
 * A shipped Stripe order whose keyed refund of `amount` (the body asked `asked`) reached Stripe and died before its
 * batch; with `reported`, Stripe's charge.refunded of it landed. `resend(body)` sends the key again.
 */
async function keyedRefundDiedPastStripe(
  refund: { amount: number; asked: { amount?: number; reason?: string | null } },
  reported: boolean,
) {
  const placed = await shippedOrder('stripe');
  const till = await issueSecretKey(env.DB, 'till', PERMISSIONS);
  const key = crypto.randomUUID();
  const [order] = await db.select().from(orders).where(eq(orders.id, placed.id));
  const claim = { scope: `secret_key:${till.id}`, key, requestHash: '', claimId: '' };
  await refundForOrder(db, env, staff(), order as OrderRow, {
    paymentId: placed.paymentId,
    amount: refund.amount,
    reason: refund.asked.reason ?? null,
    key: refundKeyOf(order as OrderRow, refund.asked, claim),
  });
  if (reported) {
    const ownKey = stripe.lastRequest('/refunds').headers['idempotency-key'] ?? '';
    const report = stripeEvent('charge.refunded', stripe.charge(placed.providerRef), ownKey);
    expect((await deliver(report)).status).toBe(200);
  }
  const resend = (body: object) =>
    call(
      `/v1/admin/orders/${placed.id}/refunds`,
      jsonInit('POST', body, { ...withKey(key).headers, ...bearer(till.key) }),
    );
  return { placed, resend };
}

describe('a staff action retried with its Idempotency-Key', () => {
  it('a refund whose answer was lost is not made again: the retry replays 201 with the order as it is', async () => {
    const placed = await shippedOrder('stripe');
    const key = crypto.randomUUID();
    const refundsBefore = stripeRefunds();

    const first = await admin('POST', `/orders/${placed.id}/refunds`, { amount: 1000 }, withKey(key));
    expect(first.status, await first.clone().text()).toBe(201);
    expect(first.headers.get('Idempotent-Replayed')).toBeNull();
    const stored = await orderRecord(placed.id);

    const retry = await admin('POST', `/orders/${placed.id}/refunds`, { amount: 1000 }, withKey(key));
    expect(retry.status).toBe(201);
    expect(retry.headers.get('Idempotent-Replayed')).toBe('true');
    expect(retry.headers.get('Content-Type')).toBe('application/json');
    expect(await retry.json()).toStrictEqual(await currentOrder(placed.id));
    expect(await orderRecord(placed.id)).toStrictEqual(stored);
    expect(stored.order).toMatchObject({ status: 'partially_refunded', refunded_total: 1000 });
    expect(stored.refunds).toStrictEqual([{ amount: 1000, status: 'succeeded' }]);
    expect(stored.events.filter((type) => type === 'order.refunded')).toHaveLength(1);
    expect(stripeRefunds() - refundsBefore).toBe(1);
  });

  it('a partial fulfilment ships once; a cancel and a delivery answer their first status again', async () => {
    const placed = await paidOrder();
    const [line] = ((await currentOrder(placed.id)) as { lines: { id: string }[] }).lines;
    const shipment = { carrier: 'DHL', tracking_number: 'T1', lines: [{ line_id: line?.id, quantity: 1 }] };
    const shipKey = crypto.randomUUID();
    expect(
      (await admin('POST', `/orders/${placed.id}/fulfillments`, shipment, withKey(shipKey))).status,
    ).toBe(201);
    const shipped = await orderRecord(placed.id);
    const again = await admin('POST', `/orders/${placed.id}/fulfillments`, shipment, withKey(shipKey));
    expect([again.status, again.headers.get('Idempotent-Replayed')]).toStrictEqual([201, 'true']);
    expect(await again.json()).toStrictEqual(await currentOrder(placed.id));
    expect(await orderRecord(placed.id)).toStrictEqual(shipped);
    expect(shipped.fulfillments).toStrictEqual([{ carrier: 'DHL', tracking_number: 'T1' }]);
    const [quantity] = await rows('SELECT fulfilled_quantity FROM order_lines WHERE id = ?', line?.id);
    expect(quantity).toStrictEqual({ fulfilled_quantity: 1 });

    // The rest ships; delivery retried replays 200 where a second delivery would be 409.
    const rest = { carrier: 'DHL', tracking_number: 'T2' };
    expect((await admin('POST', `/orders/${placed.id}/fulfillments`, rest)).status).toBe(201);
    const deliverKey = crypto.randomUUID();
    expect((await admin('POST', `/orders/${placed.id}/deliver`, undefined, withKey(deliverKey))).status).toBe(
      200,
    );
    const delivered = await orderRecord(placed.id);
    const redelivered = await admin('POST', `/orders/${placed.id}/deliver`, undefined, withKey(deliverKey));
    expect([redelivered.status, redelivered.headers.get('Idempotent-Replayed')]).toStrictEqual([200, 'true']);
    expect(await orderRecord(placed.id)).toStrictEqual(delivered);
    await expectProblem(await admin('POST', `/orders/${placed.id}/deliver`), 409, 'invalid_transition');

    const toCancel = await paidOrder();
    const cancelKey = crypto.randomUUID();
    const reason = { reason: 'Customer asked' };
    expect((await admin('POST', `/orders/${toCancel.id}/cancel`, reason, withKey(cancelKey))).status).toBe(
      200,
    );
    const canceled = await orderRecord(toCancel.id);
    const recanceled = await admin('POST', `/orders/${toCancel.id}/cancel`, reason, withKey(cancelKey));
    expect([recanceled.status, recanceled.headers.get('Idempotent-Replayed')]).toStrictEqual([200, 'true']);
    expect(await recanceled.json()).toMatchObject({ status: 'canceled' });
    expect(await orderRecord(toCancel.id)).toStrictEqual(canceled);
  });

  it('the same key with another request is 422 idempotency_key_reused, and nothing changes', async () => {
    const placed = await shippedOrder();
    const key = crypto.randomUUID();
    expect((await admin('POST', `/orders/${placed.id}/refunds`, { amount: 500 }, withKey(key))).status).toBe(
      201,
    );
    const stored = await orderRecord(placed.id);
    await expectProblem(
      await admin('POST', `/orders/${placed.id}/refunds`, { amount: 700 }, withKey(key)),
      422,
      'idempotency_key_reused',
    );
    expect(await orderRecord(placed.id)).toStrictEqual(stored);
  });

  it('a refused action keeps nothing, so its key serves the corrected request', async () => {
    const placed = await shippedOrder();
    const key = crypto.randomUUID();
    await expectProblem(
      await admin('POST', `/orders/${placed.id}/refunds`, { amount: 9999 }, withKey(key)),
      422,
      'refund_exceeds_refundable',
      [{ pointer: '/body/amount', message: 'At most 2500' }],
    );
    const fixed = await admin('POST', `/orders/${placed.id}/refunds`, { amount: 2500 }, withKey(key));
    expect([fixed.status, fixed.headers.get('Idempotent-Replayed')]).toStrictEqual([201, null]);
    expect((await orderRecord(placed.id)).order).toMatchObject({ status: 'refunded', refunded_total: 2500 });
  });

  it('keys are per caller: another key holder sending the same key makes their own request', async () => {
    const placed = await shippedOrder();
    const key = crypto.randomUUID();
    expect((await admin('POST', `/orders/${placed.id}/refunds`, { amount: 500 }, withKey(key))).status).toBe(
      201,
    );
    const other = await issueSecretKey(env.DB, 'second till', PERMISSIONS);
    const theirs = await call(
      `/v1/admin/orders/${placed.id}/refunds`,
      jsonInit('POST', { amount: 500 }, { ...withKey(key).headers, ...bearer(other.key) }),
    );
    expect([theirs.status, theirs.headers.get('Idempotent-Replayed')]).toStrictEqual([201, null]);
    expect((await orderRecord(placed.id)).refunds).toStrictEqual([
      { amount: 500, status: 'succeeded' },
      { amount: 500, status: 'succeeded' },
    ]);
  });

  it('a refund retried after the Worker died past Stripe reaches Stripe’s first refund, though the order changed since', async () => {
    const placed = await shippedOrder('stripe');
    const till = await issueSecretKey(env.DB, 'till', PERMISSIONS);
    const key = crypto.randomUUID();
    const refundsBefore = stripeRefunds();
    // The first request's provider call, then nothing: its batch never ran.
    const [order] = await db.select().from(orders).where(eq(orders.id, placed.id));
    const claim = { scope: `secret_key:${till.id}`, key, requestHash: '', claimId: '' };
    const died = { paymentId: placed.paymentId, amount: 1000, reason: null };
    await refundForOrder(db, env, staff(), order as OrderRow, {
      ...died,
      key: refundKeyOf(order as OrderRow, { amount: 1000 }, claim),
    });
    // Meanwhile the order moves on (its version with it).
    expect((await admin('POST', `/orders/${placed.id}/deliver`)).status).toBe(200);

    const retry = await call(
      `/v1/admin/orders/${placed.id}/refunds`,
      jsonInit('POST', { amount: 1000 }, { ...withKey(key).headers, ...bearer(till.key) }),
    );
    expect(retry.status, await retry.clone().text()).toBe(201);
    expect(stripeRefunds() - refundsBefore).toBe(2);
    expect(stripe.refunds.filter((r) => r.payment_intent === placed.providerRef)).toHaveLength(1);
    expect((await orderRecord(placed.id)).refunds).toStrictEqual([{ amount: 1000, status: 'succeeded' }]);
  });
  // Stripe reports the first refund (charge.refunded, caused by edgecart's own key: quiet) within seconds, while a
  // retry must wait for the dead request's lock to lapse (IDEMPOTENCY_LOCK_MS): the report fills in the payment
  // first, and the retry must still record the one refund on the order, as the first request would have.
  it.each([
    ['more than is left once the report counted it', 1500],
    ['less than is left', 1000],
  ])(
    'a refund retried after the Worker died past Stripe, whose report landed first, is recorded once on the order: %s',
    async (_name, amount) => {
      const { placed, resend } = await keyedRefundDiedPastStripe({ amount, asked: { amount } }, true);
      const retry = await resend({ amount });
      expect(retry.status, await retry.clone().text()).toBe(201);
      expect(stripe.refunds.filter((r) => r.payment_intent === placed.providerRef)).toHaveLength(1);
      const record = await orderRecord(placed.id);
      expect(record.order).toMatchObject({ status: 'partially_refunded', refunded_total: amount });
      expect(record.refunds).toStrictEqual([{ amount, status: 'succeeded' }]);
      const [refunded] = await rows(
        "SELECT payload FROM outbox_events WHERE aggregate_id = ? AND type = 'order.refunded'",
        placed.id,
      );
      expect(JSON.parse(String(refunded?.payload))).toMatchObject({ amount, refunded_total: amount });
      const [payment] = await rows(
        'SELECT status, amount_refunded FROM payments WHERE id = ?',
        placed.paymentId,
      );
      expect(payment).toStrictEqual({ status: 'partially_refunded', amount_refunded: amount });
      const paymentEvents = await rows(
        "SELECT payload FROM outbox_events WHERE aggregate_id = ? AND type LIKE 'payment.%refunded' ORDER BY rowid",
        placed.paymentId,
      );
      expect(paymentEvents.map((e) => JSON.parse(String(e.payload)).amount_refunded)).toStrictEqual([amount]);
    },
  );
});

// A staff refund sent without a key whose Worker died past Stripe, not sent again (a retry at the same version would
// claim it): Stripe's quiet report records it on the payment, unclaimed. A keyed refund after it is held against it
// and counted on the order by itself; the sweep of unclaimed refunds records the lost one on the order ten minutes
// on, with its event, so the order's figures end where Stripe's are.
describe('a refund Stripe made that no request recorded', () => {
  async function withUnrecordedRefund() {
    const placed = await shippedOrder('stripe');
    const [order] = await db.select().from(orders).where(eq(orders.id, placed.id));
    expect(order?.total).toBe(2500);
    const died = { paymentId: placed.paymentId, amount: 1000, reason: null };
    await refundForOrder(db, env, staff(), order as OrderRow, {
      ...died,
      key: refundKeyOf(order as OrderRow, died),
    });
    const ownKey = stripe.lastRequest('/refunds').headers['idempotency-key'] ?? '';
    const report = await deliver(stripeEvent('charge.refunded', stripe.charge(placed.providerRef), ownKey));
    expect(report.status).toBe(200);
    const till = await issueSecretKey(env.DB, 'till', PERMISSIONS);
    const refund = (body: object, key = crypto.randomUUID()) =>
      call(
        `/v1/admin/orders/${placed.id}/refunds`,
        jsonInit('POST', body, { ...withKey(key).headers, ...bearer(till.key) }),
      );
    return { placed, refund };
  }

  async function figures(placed: { id: string; paymentId: string; providerRef: string }) {
    const [order] = await rows('SELECT status, refunded_total FROM orders WHERE id = ?', placed.id);
    const [payment] = await rows(
      'SELECT status, amount_refunded FROM payments WHERE id = ?',
      placed.paymentId,
    );
    const atStripe = stripe.refunds
      .filter((r) => r.payment_intent === placed.providerRef)
      .reduce((sum, r) => sum + r.amount, 0);
    return { order, payment, atStripe };
  }

  /** What each `order.refunded` event says, and who its audit entry names. */
  async function refundsOnOrder(orderId: string) {
    const events = await rows(
      "SELECT payload FROM outbox_events WHERE aggregate_id = ? AND type = 'order.refunded' ORDER BY rowid",
      orderId,
    );
    const audit = await rows(
      "SELECT actor_id FROM audit_log WHERE target_id = ? AND action = 'order.refund' ORDER BY rowid",
      orderId,
    );
    return events.map((e, i) => {
      const { amount, refunded_total, to } = JSON.parse(String(e.payload));
      return { amount, refunded_total, to, by: audit[i]?.actor_id };
    });
  }

  it('"everything" refunds what Stripe has left; the sweep brings the lost refund to the order', async () => {
    const { placed, refund } = await withUnrecordedRefund();
    const res = await refund({});
    expect(res.status, await res.clone().text()).toBe(201);
    expect(await figures(placed)).toStrictEqual({
      order: { status: 'partially_refunded', refunded_total: 1500 },
      payment: { status: 'refunded', amount_refunded: 2500 },
      atStripe: 2500,
    });
    // Before its grace is over the sweep leaves it to its request; after, records it once.
    expect(await sweepAt(Date.now())).toStrictEqual({ claimed: 0, left: 0, more: false });
    const later = Date.now() + CLAIM_GRACE_MS + 1000;
    expect(await sweepAt(later)).toStrictEqual({ claimed: 1, left: 0, more: false });
    expect(await sweepAt(later)).toStrictEqual({ claimed: 0, left: 0, more: false });
    expect(await figures(placed)).toStrictEqual({
      order: { status: 'refunded', refunded_total: 2500 },
      payment: { status: 'refunded', amount_refunded: 2500 },
      atStripe: 2500,
    });
    expect(await refundsOnOrder(placed.id)).toStrictEqual([
      { amount: 1500, refunded_total: 1500, to: 'partially_refunded', by: expect.stringMatching(/^key_/) },
      { amount: 1000, refunded_total: 2500, to: 'refunded', by: 'stripe-sweep' },
    ]);
    // The payment's side of the lost refund, which its request would have raised: its event and audit entry.
    const paymentEvents = await rows(
      "SELECT type, payload FROM outbox_events WHERE aggregate_id = ? AND type LIKE 'payment.%refunded' ORDER BY rowid",
      placed.paymentId,
    );
    expect(paymentEvents.map((e) => [e.type, JSON.parse(String(e.payload)).refund?.amount])).toStrictEqual([
      ['payment.refunded', 1500],
      ['payment.refunded', 1000],
    ]);
    const [paymentAudit] = await rows(
      "SELECT actor_id FROM audit_log WHERE target_id = ? AND action = 'payment.refund' ORDER BY rowid DESC",
      placed.paymentId,
    );
    expect(paymentAudit).toStrictEqual({ actor_id: REFUND_CLAIMS_JOB });
  });

  it('an amount that fits is counted on top of what Stripe returned, the order counting its own', async () => {
    const { placed, refund } = await withUnrecordedRefund();
    const res = await refund({ amount: 500 });
    expect(res.status, await res.clone().text()).toBe(201);
    expect(await figures(placed)).toStrictEqual({
      order: { status: 'partially_refunded', refunded_total: 500 },
      payment: { status: 'partially_refunded', amount_refunded: 1500 },
      atStripe: 1500,
    });
    await sweepAt(Date.now() + CLAIM_GRACE_MS + 1000);
    expect((await figures(placed)).order).toStrictEqual({
      status: 'partially_refunded',
      refunded_total: 1500,
    });
    expect((await refundsOnOrder(placed.id)).map((r) => [r.amount, r.refunded_total])).toStrictEqual([
      [500, 500],
      [1000, 1500],
    ]);
  });

  it('an amount over what Stripe has left is the 422 with what is left, as without a key', async () => {
    const { placed, refund } = await withUnrecordedRefund();
    const res = await refund({ amount: 2000 });
    await expectProblem(res, 422, 'refund_exceeds_refundable', [
      { pointer: '/body/amount', message: 'At most 1500' },
    ]);
    expect(await figures(placed)).toStrictEqual({
      order: { status: 'fulfilled', refunded_total: 0 },
      payment: { status: 'partially_refunded', amount_refunded: 1000 },
      atStripe: 1000,
    });
  });
});

// A keyed refund of everything whose Worker died past Stripe, retried once Stripe's report recorded its refund: what
// "everything" comes to now is nothing, and the retry is still the same request.
describe('a keyed refund of everything retried after its report', () => {
  it('claims the refund: 201, refunded once, the order refunded', async () => {
    const { placed, resend } = await keyedRefundDiedPastStripe({ amount: 2500, asked: {} }, true);
    const stripeCalls = stripeRefunds();
    const retry = await resend({});
    expect(retry.status, await retry.clone().text()).toBe(201);
    expect(stripeRefunds()).toBe(stripeCalls);
    const record = await orderRecord(placed.id);
    expect(record.order).toMatchObject({ status: 'refunded', refunded_total: 2500 });
    expect(record.refunds).toStrictEqual([{ amount: 2500, status: 'succeeded' }]);
    expect(record.events.filter((type) => type === 'order.refunded')).toHaveLength(1);
  });
});

// A keyed refund whose Worker died past Stripe, retried only after the sweep recorded its refund on the order.
describe('a keyed refund retried after the sweep recorded it', () => {
  it('answers 201 with the order as it is: no second refund, event or count', async () => {
    const { placed, resend } = await keyedRefundDiedPastStripe({ amount: 2500, asked: {} }, true);
    await sweepAt(Date.now() + CLAIM_GRACE_MS + 1000);
    const before = await orderRecord(placed.id);
    expect(before.order).toMatchObject({ status: 'refunded', refunded_total: 2500 });
    const stripeCalls = stripeRefunds();

    const retry = await resend({});
    expect(retry.status, await retry.clone().text()).toBe(201);
    expect(await retry.json()).toMatchObject({ id: placed.id, status: 'refunded', refunded_total: 2500 });
    expect(stripeRefunds()).toBe(stripeCalls);
    expect(await orderRecord(placed.id)).toStrictEqual(before);
  });
});

// A cancel refunds what was captured (here in Stripe's dashboard); its Worker died past Stripe and Stripe's report
// recorded the refund unclaimed. The same cancel again (no key: the order's version names it, unchanged) finds that
// refund and records it with the cancel.
describe('a cancel retried after its refund was reported', () => {
  it('records the one refund with the cancel, asking Stripe nothing again', async () => {
    const placed = await cancelDiedPastStripe();
    const stripeCalls = stripeRefunds();

    const retry = await admin('POST', `/orders/${placed.id}/cancel`, { reason: 'Customer asked' });
    expect(retry.status, await retry.clone().text()).toBe(200);
    expect(stripeRefunds()).toBe(stripeCalls);
    const record = await orderRecord(placed.id);
    expect(record.order).toMatchObject({ status: 'canceled', refunded_total: 2500 });
    expect(record.refunds).toStrictEqual([{ amount: 2500, status: 'succeeded' }]);
    expect(record.events.filter((type) => type === 'order.canceled')).toHaveLength(1);
    const [claimed] = await rows(
      'SELECT claimed_at IS NOT NULL AS claimed FROM refunds WHERE payment_id = ?',
      placed.paymentId,
    );
    expect(claimed).toStrictEqual({ claimed: 1 });
  });
});

// The same cancel, not sent again before the sweep of unclaimed refunds (10 minutes on). The refund Stripe made was
// the cancel's: the order must cancel, its units going back on hand, not be turned into a refunded order that keeps
// the goods' units sold and refuses the cancel.
describe('a cancel whose batch was lost, not sent again', () => {
  it('is completed by the sweep from its refund: canceled, units back, the refund counted once', async () => {
    const placed = await cancelDiedPastStripe();
    expect(await sweepAt(Date.now() + CLAIM_GRACE_MS + 1000)).toStrictEqual({
      claimed: 1,
      left: 0,
      more: false,
    });

    expect(await stockSnapshot(env.INVENTORY_ITEM, placed.variantId)).toMatchObject({
      on_hand: 5,
      reserved: 0,
    });
    const record = await orderRecord(placed.id);
    expect(record.order).toMatchObject({ status: 'canceled', refunded_total: 2500 });
    expect(record.refunds).toStrictEqual([{ amount: 2500, status: 'succeeded' }]);
    expect(record.transitions.at(-1)).toStrictEqual({
      action: 'cancel',
      from_status: 'paid',
      to_status: 'canceled',
    });
    // Revenue takes the money off once: order.canceled releases what order.paid counted, and no order.refunded.
    expect(
      record.events.filter((type) => type === 'order.canceled' || type === 'order.refunded'),
    ).toStrictEqual(['order.canceled']);
    expect(((await currentOrder(placed.id)) as { stock_status: string }).stock_status).toBe('returned');

    // Staff sending the cancel again find it done: refused as for any canceled order, nothing asked of Stripe.
    const stripeCalls = stripeRefunds();
    const retry = await admin('POST', `/orders/${placed.id}/cancel`, { reason: 'Customer asked' });
    await expectProblem(retry, 409, 'invalid_transition');
    expect(stripeRefunds()).toBe(stripeCalls);
    expect(await orderRecord(placed.id)).toStrictEqual(record);
  });
});

// The key's first request died past Stripe; the same key comes back with another request. Stripe refuses to replay
// its key with other parameters, and a recorded refund names its amount: either way the client reused its key.
describe('a refund key sent again with another request after the first died past Stripe', () => {
  it.each([
    ['another reason, before Stripe’s report', { amount: 1000, reason: 'lost' }, false],
    ['another amount, before Stripe’s report', { amount: 900, reason: 'damaged' }, false],
    ['another amount, after Stripe’s report', { amount: 900, reason: 'damaged' }, true],
    ['another reason, after Stripe’s report', { amount: 1000, reason: 'lost' }, true],
    ['everything, before Stripe’s report', { reason: 'damaged' }, false],
    ['everything, after Stripe’s report', { reason: 'damaged' }, true],
  ])('is 422 idempotency_key_reused, changing nothing: %s', async (_name, body, report) => {
    const asked = { amount: 1000, reason: 'damaged' };
    const { placed, resend } = await keyedRefundDiedPastStripe({ amount: 1000, asked }, report);
    const before = await orderRecord(placed.id);
    await expectProblem(await resend(body), 422, 'idempotency_key_reused');
    expect(await orderRecord(placed.id)).toStrictEqual(before);
    expect(stripe.refunds.filter((r) => r.payment_intent === placed.providerRef)).toHaveLength(1);
  });
});

// Stripe refused the key's first request (a dashboard refund it had not reported yet left less than asked): no
// refund was made and edgecart kept nothing, so the key serves the corrected request, as after edgecart's own
// refusal ("a refused action keeps nothing"). The Stripe key must not be spent on a refund that never happened.
describe('a refund key sent again with the corrected request after Stripe refused the first', () => {
  it('refunds the corrected amount: 201, once at Stripe, counted on the order', async () => {
    const placed = await shippedOrder('stripe');
    const dashboard = stripe.refundInDashboard(placed.providerRef, 1000);
    const key = crypto.randomUUID();
    await expectProblem(
      await admin('POST', `/orders/${placed.id}/refunds`, { amount: 2500 }, withKey(key)),
      409,
      'payment_state_conflict',
    );
    // Stripe's report of the dashboard refund lands: the order counts it, 1500 is left.
    const report = stripeEvent('charge.refunded', stripe.charge(placed.providerRef));
    expect((await deliver(report)).status).toBe(200);
    expect((await orderRecord(placed.id)).order).toMatchObject({
      status: 'partially_refunded',
      refunded_total: 1000,
    });

    const fixed = await admin('POST', `/orders/${placed.id}/refunds`, { amount: 1500 }, withKey(key));
    expect(fixed.status, await fixed.clone().text()).toBe(201);
    expect((await orderRecord(placed.id)).order).toMatchObject({ status: 'refunded', refunded_total: 2500 });
    expect(
      stripe.refunds.filter((r) => r.payment_intent === placed.providerRef).map((r) => r.amount),
    ).toStrictEqual([dashboard.amount, 1500]);
  });

  // Without any key: a cancel is named by the order's version, which an edgecart refund only Stripe's report recorded
  // (its request died past Stripe) does not move. Stripe refused the cancel's first refund (that refund was not
  // recorded yet); once it is, the cancel asks for what is left under the same Stripe key.
  it('a cancel sent again after Stripe refused its refund cancels: no 422 for a key nobody sent', async () => {
    const placed = await capturedInDashboard();
    const [order] = await db.select().from(orders).where(eq(orders.id, placed.id));
    const died = { paymentId: placed.paymentId, amount: 1000, reason: null };
    await refundForOrder(db, env, staff(), order as OrderRow, {
      ...died,
      key: refundKeyOf(order as OrderRow, died, {
        scope: 'secret_key:till',
        key: crypto.randomUUID(),
        requestHash: '',
        claimId: '',
      }),
    });
    const ownKey = stripe.lastRequest('/refunds').headers['idempotency-key'] ?? '';
    await expectProblem(
      await admin('POST', `/orders/${placed.id}/cancel`, { reason: 'Customer asked' }),
      409,
      'payment_state_conflict',
    );
    const report = stripeEvent('charge.refunded', stripe.charge(placed.providerRef), ownKey);
    expect((await deliver(report)).status).toBe(200);

    const again = await admin('POST', `/orders/${placed.id}/cancel`, { reason: 'Customer asked' });
    expect(again.status, await again.clone().text()).toBe(200);
    expect((await orderRecord(placed.id)).order).toMatchObject({ status: 'canceled' });
    expect(
      stripe.refunds.filter((r) => r.payment_intent === placed.providerRef).map((r) => r.amount),
    ).toStrictEqual([1000, 1500]);
  });
});

// A staff refund whose Worker died past Stripe, reported by Stripe (its row unclaimed), then the order canceled: the
// cancel refunds what Stripe has left. The sweep finds the lost refund's order canceled, which takes no refund, and
// must still count the money on it: the canceled order has returned everything Stripe captured.
describe('a refund no request recorded, on an order canceled before the sweep', () => {
  it('is counted in the canceled order’s refunded total', async () => {
    const placed = await capturedInDashboard();
    const [order] = await db.select().from(orders).where(eq(orders.id, placed.id));
    const died = { paymentId: placed.paymentId, amount: 1000, reason: null };
    await refundForOrder(db, env, staff(), order as OrderRow, {
      ...died,
      key: refundKeyOf(order as OrderRow, died),
    });
    const ownKey = stripe.lastRequest('/refunds').headers['idempotency-key'] ?? '';
    const report = stripeEvent('charge.refunded', stripe.charge(placed.providerRef), ownKey);
    expect((await deliver(report)).status).toBe(200);
    const cancel = await admin('POST', `/orders/${placed.id}/cancel`, { reason: 'Customer asked' });
    expect(cancel.status, await cancel.clone().text()).toBe(200);

    await sweepAt(Date.now() + CLAIM_GRACE_MS + 1000);
    const atStripe = stripe.refunds
      .filter((r) => r.payment_intent === placed.providerRef)
      .reduce((sum, r) => sum + r.amount, 0);
    expect(atStripe).toBe(2500);
    const [payment] = await rows('SELECT amount_refunded FROM payments WHERE id = ?', placed.paymentId);
    expect(payment).toStrictEqual({ amount_refunded: 2500 });
    const record = await orderRecord(placed.id);
    expect(record.order).toMatchObject({ status: 'canceled', refunded_total: 2500 });
    // The cancel's order.canceled released the whole total: no order.refunded, or revenue would count it twice.
    expect(record.events.filter((type) => type === 'order.refunded')).toStrictEqual([]);
  });
});

// Capture happens at the first fulfilment, but a payment can be captured before (in Stripe's dashboard, or a
// method Stripe captures at once): canceling that unshipped order refunds it, which is what orders:refund guards.
describe('a cancel that would refund a captured payment', () => {
  it('needs orders:refund as well: a key with only orders:write is 403, Stripe is asked nothing, the order stays', async () => {
    const placed = await capturedInDashboard();
    const before = await orderRecord(placed.id);
    const stripeCalls = stripeRefunds();
    const writer = await issueSecretKey(env.DB, 'cancels, cannot refund', ['orders:read', 'orders:write']);
    const refused = await call(
      `/v1/admin/orders/${placed.id}/cancel`,
      jsonInit('POST', { reason: 'Customer asked' }, bearer(writer.key)),
    );
    await expectProblem(refused, 403, 'forbidden');
    expect(stripeRefunds()).toBe(stripeCalls);
    expect(await orderRecord(placed.id)).toStrictEqual(before);

    const refunder = await issueSecretKey(env.DB, 'cancels and refunds', [
      'orders:read',
      'orders:write',
      'orders:refund',
    ]);
    const canceled = await call(
      `/v1/admin/orders/${placed.id}/cancel`,
      jsonInit('POST', { reason: 'Customer asked' }, bearer(refunder.key)),
    );
    expect(canceled.status, await canceled.clone().text()).toBe(200);
    expect((await orderRecord(placed.id)).order).toMatchObject({ status: 'canceled', refunded_total: 2500 });
  });
});
