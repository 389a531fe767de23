/**
 * The money side of staff's order actions, on orders placed through real checkout (manual provider, and Stripe
 * faked at the fetch boundary): the first fulfilment captures, a cancel voids and gives the units back, refunds
 * return captured money in part or in full and move the order's status with them; money that moved is recorded
 * once, even when the order changes under the request.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { systemCaller } from '../../src/lib/caller';
import { stockObject, stockSnapshot } from '../../src/modules/inventory/stock';
import { fulfilOrder, markDelivered, refundOrder } from '../../src/modules/orders/admin-service';
import { refundOrderOnProviderRefund } from '../../src/modules/orders/settlement';
import { receiveStripeWebhook } from '../../src/modules/payments/webhook-service';
import { admin, rows } from '../helpers/admin-fixtures';
import { seedRegions } from '../helpers/catalog-fixtures';
import { shippingOption } from '../helpers/checkout';
import { deliver, FakeStripe, signature, stripeEvent } from '../helpers/fake-stripe';
import { expectProblem } from '../helpers/http';
import { db } from '../helpers/payments';
import { type AdminOrder, eventTypes, adminOrder as order, paidOrder } from '../helpers/placed-orders';

const stripe = new FakeStripe();
stripe.install();

beforeAll(async () => {
  await seedRegions();
  await shippingOption('eu', { amount: 500 });
});

describe('canceling a paid order', () => {
  it('voids the authorization and puts the units back on hand', async () => {
    const placed = await paidOrder();
    expect(await stockSnapshot(env.INVENTORY_ITEM, placed.variantId)).toMatchObject({ on_hand: 3 });

    const res = await admin('POST', `/orders/${placed.id}/cancel`, { reason: 'Customer asked' });
    expect(res.status, await res.clone().text()).toBe(200);
    const canceled = (await res.json()) as AdminOrder;
    expect(canceled).toMatchObject({ status: 'canceled', stock_status: 'returned' });
    expect(canceled.payments.map((p) => p.status)).toStrictEqual(['voided']);
    expect(await stockSnapshot(env.INVENTORY_ITEM, placed.variantId)).toMatchObject({
      on_hand: 5,
      reserved: 0,
    });
    expect(await eventTypes('order', [placed.id])).toStrictEqual([
      'order.created',
      'order.paid',
      'order.canceled',
    ]);
    // The restock reaches D1 under the key orders use (`order:<id>:<line id>`), with its event: a key the event
    // catalog refused would leave the record in the object's outbox, retried for ever and never journaled.
    await stockObject(env.INVENTORY_ITEM, placed.variantId).flush();
    const changeId = `order:${placed.id}:${canceled.lines[0]?.id}`;
    expect(
      await rows(
        'SELECT id, kind, delta, on_hand_after FROM inventory_changes WHERE variant_id = ? AND kind = ?',
        placed.variantId,
        'restock',
      ),
    ).toStrictEqual([{ id: changeId, kind: 'restock', delta: 2, on_hand_after: 5 }]);
    const restocked = await rows(
      `SELECT json_extract(payload, '$.change_id') AS change_id, json_extract(payload, '$.delta') AS delta
       FROM outbox_events WHERE type = 'inventory.adjusted' AND aggregate_id = ?`,
      placed.variantId,
    );
    expect(restocked).toContainEqual({ change_id: changeId, delta: 2 });
  });
});

describe('fulfilling', () => {
  it('captures the payment at the first fulfilment only', async () => {
    const placed = await paidOrder('stripe');
    const [line] = (await order(placed.id)).lines;
    const first = await admin('POST', `/orders/${placed.id}/fulfillments`, {
      carrier: 'DHL',
      tracking_number: 'T1',
      lines: [{ line_id: line?.id, quantity: 1 }],
    });
    expect(first.status, await first.clone().text()).toBe(201);
    expect(((await first.json()) as AdminOrder).payments).toMatchObject([
      { status: 'captured', amount: 2500, amount_captured: 2500 },
    ]);
    const captures = () => stripe.requests.filter((r) => r.url.endsWith('/capture')).length;
    const before = captures();
    const rest = await admin('POST', `/orders/${placed.id}/fulfillments`, {
      carrier: 'DHL',
      tracking_number: 'T2',
    });
    expect(rest.status).toBe(201);
    expect(((await rest.json()) as AdminOrder).status).toBe('fulfilled');
    expect(captures()).toBe(before);
  });

  it('refuses an order whose authorization is voided but not its cancel (that batch was lost): 409, nothing shipped; the cancel goes through again', async () => {
    const placed = await paidOrder('stripe');
    const intent = stripe.intents.get(placed.providerRef);
    if (!intent) throw new Error('no PaymentIntent');
    Object.assign(intent, { status: 'canceled', amount_capturable: 0 });
    // A staff cancel voided it in Stripe and died before its batch: Stripe's report of edgecart's own void only
    // fills in the payment (webhook-service.ts), and the order still says paid.
    const ownVoid = stripeEvent('payment_intent.canceled', intent, `edgecart:void:${placed.paymentId}:lost`);
    expect(await (await deliver(ownVoid)).json()).toMatchObject({ result: 'processed' });
    const before = await order(placed.id);
    expect(before).toMatchObject({ status: 'paid', payments: [{ status: 'voided', amount_captured: 0 }] });

    const res = await admin('POST', `/orders/${placed.id}/fulfillments`, {
      carrier: 'DHL',
      tracking_number: '00340434161094042557',
    });
    await expectProblem(res, 409, 'payment_not_capturable');
    expect(await order(placed.id)).toStrictEqual(before);
    expect(await eventTypes('order', [placed.id])).toStrictEqual(['order.created', 'order.paid']);

    const canceled = await admin('POST', `/orders/${placed.id}/cancel`, { reason: 'Customer asked' });
    expect(canceled.status, await canceled.clone().text()).toBe(200);
    expect(await canceled.json()).toMatchObject({ status: 'canceled', payments: [{ status: 'voided' }] });
  });
});

describe('refunds', () => {
  async function shipped() {
    const placed = await paidOrder();
    expect(
      (await admin('POST', `/orders/${placed.id}/fulfillments`, { carrier: 'DHL', tracking_number: 'T' }))
        .status,
    ).toBe(201);
    return placed;
  }

  it('return part, then the rest: partially refunded, then refunded, with the payment and refunds recorded', async () => {
    const placed = await shipped();
    const part = await admin('POST', `/orders/${placed.id}/refunds`, { amount: 1000, reason: 'Damaged' });
    expect(part.status, await part.clone().text()).toBe(201);
    expect(await part.json()).toMatchObject({
      status: 'partially_refunded',
      refunded_total: 1000,
      payments: [{ status: 'partially_refunded', amount_refunded: 1000, refunds: [{ amount: 1000 }] }],
    });

    const rest = await admin('POST', `/orders/${placed.id}/refunds`, {});
    expect(rest.status).toBe(201);
    expect(await rest.json()).toMatchObject({
      status: 'refunded',
      refunded_total: 2500,
      payments: [
        { status: 'refunded', amount_refunded: 2500, refunds: [{ amount: 1000 }, { amount: 1500 }] },
      ],
    });
    await expectProblem(
      await admin('POST', `/orders/${placed.id}/refunds`, { amount: 1 }),
      409,
      'invalid_transition',
    );
    expect(await eventTypes('order', [placed.id])).toStrictEqual([
      'order.created',
      'order.paid',
      'order.fulfilled',
      'order.refunded',
      'order.refunded',
    ]);
  });

  it('refuses more than is refundable (422) and a refund before anything was charged (409)', async () => {
    const placed = await shipped();
    const res = await admin('POST', `/orders/${placed.id}/refunds`, { amount: 2501 });
    await expectProblem(res, 422, 'refund_exceeds_refundable', [
      { pointer: '/body/amount', message: 'At most 2500' },
    ]);
    const unshipped = await paidOrder();
    await expectProblem(await admin('POST', `/orders/${unshipped.id}/refunds`, {}), 409, 'nothing_to_refund');
    expect((await order(unshipped.id)).payments.map((p) => p.status)).toStrictEqual(['authorized']);
  });

  it('racing a fulfilment: both apply, and the money is recorded once', async () => {
    for (let round = 0; round < 3; round++) {
      const placed = await paidOrder();
      const [line] = (await order(placed.id)).lines;
      await fulfilOrder(env, staffCaller(), placed.id, {
        carrier: 'DHL',
        tracking_number: 'T1',
        lines: [{ line_id: line?.id as string, quantity: 1 }],
      });
      await Promise.all([
        refundOrder(env, staffCaller(), placed.id, { amount: 500 }),
        fulfilOrder(env, staffCaller(), placed.id, { carrier: 'DHL', tracking_number: 'T2' }),
      ]);
      const after = await order(placed.id);
      expect(after).toMatchObject({ status: 'partially_refunded', refunded_total: 500 });
      expect(after.payments).toMatchObject([{ amount_refunded: 500, refunds: [{ amount: 500 }] }]);
      expect(await eventTypes('order', [placed.id])).toContain('order.refunded');
      expect(
        (await eventTypes('payment', [await paymentIdOf(placed.id)])).filter((t) => t.includes('refund')),
      ).toStrictEqual(['payment.partially_refunded']);
    }
  });
});

const webhookCaller = () => systemCaller('stripe-webhook', crypto.randomUUID());

const staffCaller = () => ({
  ...systemCaller('refund-race', crypto.randomUUID()),
  actor: { type: 'staff' as const, id: 'stf_money_test' },
});

async function paymentIdOf(orderId: string): Promise<string> {
  return (await rows('SELECT id FROM payments WHERE order_id = ?', orderId))[0]?.id as string;
}

describe('a refund made in Stripe’s dashboard', () => {
  /** A Stripe order shipped in full (its 25.00 captured), and Stripe's charge.refunded once `total` went back in its dashboard. */
  async function shippedWithStripe() {
    const placed = await paidOrder('stripe');
    const shipped = await admin('POST', `/orders/${placed.id}/fulfillments`, {
      carrier: 'DHL',
      tracking_number: 'T',
    });
    expect(shipped.status).toBe(201);
    const [payment] = await rows('SELECT id, provider_ref FROM payments WHERE order_id = ?', placed.id);
    const ref = payment?.provider_ref as string;
    const refundedInStripe = (total: number, idempotencyKey: string | null = null) => {
      stripe.refundInDashboard(ref, total - (stripe.refunded.get(ref) ?? 0));
      return stripeEvent('charge.refunded', stripe.charge(ref), idempotencyKey);
    };
    return { ...placed, paymentId: payment?.id as string, ref, refundedInStripe };
  }

  const refundRecords = (orderId: string) =>
    rows(
      `SELECT o.payload, a.actor_type, a.actor_id, a.action FROM outbox_events o
       JOIN audit_log a ON a.request_id = o.request_id AND a.target_id = o.aggregate_id
       WHERE o.type = 'order.refunded' AND o.aggregate_id = ? ORDER BY o.rowid`,
      orderId,
    );

  it('shows on the order', async () => {
    const placed = await shippedWithStripe();
    const partial = placed.refundedInStripe(1000);
    expect(await (await deliver(partial)).json()).toStrictEqual({
      event_id: partial.id,
      result: 'processed',
    });
    expect(await order(placed.id)).toMatchObject({
      status: 'partially_refunded',
      refunded_total: 1000,
      payments: [{ status: 'partially_refunded', amount_refunded: 1000 }],
    });
    const [record] = await refundRecords(placed.id);
    expect(JSON.parse(record?.payload as string)).toStrictEqual({
      id: placed.id,
      number: expect.any(String),
      from: 'fulfilled',
      to: 'partially_refunded',
      reason: 'stripe refund (webhook)',
      region: 'eu',
      country: 'DE',
      currency: 'EUR',
      amount: 1000,
      payment_id: placed.paymentId,
      refunded_total: 1000,
    });
    expect(record).toMatchObject({
      actor_type: 'system',
      actor_id: 'stripe-webhook',
      action: 'order.refund',
    });

    // Stripe redelivers the event: nothing changes.
    expect(await (await deliver(partial)).json()).toMatchObject({ result: 'duplicate' });
    const full = placed.refundedInStripe(2500);
    expect(await (await deliver(full)).json()).toMatchObject({ result: 'processed' });
    expect(await order(placed.id)).toMatchObject({ status: 'refunded', refunded_total: 2500 });
    expect(await eventTypes('order', [placed.id])).toStrictEqual([
      'order.created',
      'order.paid',
      'order.fulfilled',
      'order.refunded',
      'order.refunded',
    ]);
    expect(
      (await refundRecords(placed.id)).map((r) => JSON.parse(r.payload as string).refunded_total),
    ).toStrictEqual([1000, 2500]);
    await expectProblem(
      await admin('POST', `/orders/${placed.id}/refunds`, { amount: 1 }),
      409,
      'invalid_transition',
    );
  });

  it('is not counted again when it is edgecart’s own refund reported back', async () => {
    const placed = await shippedWithStripe();
    const refund = await admin('POST', `/orders/${placed.id}/refunds`, { amount: 1000 });
    expect(refund.status).toBe(201);
    const ownKey = stripe.lastRequest('/refunds').headers['idempotency-key'] ?? null;
    const reported = stripeEvent('charge.refunded', stripe.charge(placed.ref), ownKey);
    expect(await (await deliver(reported)).json()).toMatchObject({ result: 'ignored' });
    expect(await order(placed.id)).toMatchObject({ status: 'partially_refunded', refunded_total: 1000 });
    expect(await refundRecords(placed.id)).toHaveLength(1);
  });
  it('is counted once beside staff refunds, whoever refunded first, and leaves only the rest refundable', async () => {
    const placed = await shippedWithStripe();
    const dashboard = placed.refundedInStripe(1000);
    expect(await (await deliver(dashboard)).json()).toMatchObject({ result: 'processed' });
    const staff = await admin('POST', `/orders/${placed.id}/refunds`, { amount: 500 });
    expect(staff.status, await staff.clone().text()).toBe(201);
    expect(await staff.json()).toMatchObject({
      status: 'partially_refunded',
      refunded_total: 1500,
      payments: [{ status: 'partially_refunded', amount_captured: 2500, amount_refunded: 1500 }],
    });

    // Stripe reports the staff refund back, and redelivers the dashboard's: nothing changes.
    const ownKey = stripe.lastRequest('/refunds').headers['idempotency-key'] ?? null;
    const reported = stripeEvent('charge.refunded', stripe.charge(placed.ref), ownKey);
    expect(await (await deliver(reported)).json()).toMatchObject({ result: 'ignored' });
    expect(await (await deliver(dashboard)).json()).toMatchObject({ result: 'duplicate' });
    const settled = await order(placed.id);
    expect(settled).toMatchObject({ refunded_total: 1500, payments: [{ amount_refunded: 1500 }] });
    const stored = await rows(
      'SELECT amount, reason, provider_ref FROM refunds WHERE payment_id = ? ORDER BY rowid',
      placed.paymentId,
    );
    expect(stored).toStrictEqual([
      { amount: 1000, reason: null, provider_ref: stripe.refunds.at(-2)?.id },
      { amount: 500, reason: null, provider_ref: stripe.refunds.at(-1)?.id },
    ]);

    // 1000 of the 2500 is left: more is refused before Stripe is asked, and nothing is written.
    const requests = stripe.requests.length;
    await expectProblem(
      await admin('POST', `/orders/${placed.id}/refunds`, { amount: 1001 }),
      422,
      'refund_exceeds_refundable',
      [{ pointer: '/body/amount', message: 'At most 1000' }],
    );
    expect(stripe.requests).toHaveLength(requests);
    expect(await order(placed.id)).toStrictEqual(settled);

    // A second dashboard refund: its event lists the staff refund too, which is not taken for a dashboard one.
    const more = placed.refundedInStripe(1800);
    expect(await (await deliver(more)).json()).toMatchObject({ result: 'processed' });
    expect(await order(placed.id)).toMatchObject({
      status: 'partially_refunded',
      refunded_total: 1800,
      payments: [{ amount_refunded: 1800, refunds: [{ amount: 1000 }, { amount: 500 }, { amount: 300 }] }],
    });
    expect(
      (await refundRecords(placed.id)).map((r) => {
        const { amount, refunded_total } = JSON.parse(r.payload as string);
        return { amount, refunded_total };
      }),
    ).toStrictEqual([
      { amount: 1000, refunded_total: 1000 },
      { amount: 500, refunded_total: 1500 },
      { amount: 300, refunded_total: 1800 },
    ]);
  });

  it('does not count a staff refund whose batch is pending: the order and its events count recorded refunds only', async () => {
    const placed = await shippedWithStripe();
    // Staff's refund of 1500 has reached Stripe, its batch not D1, when a dashboard refund of 1000 is reported.
    const answerOf = stripe.handle.bind(stripe);
    let between: { delivered: unknown; order: AdminOrder } | undefined;
    const held = vi.spyOn(stripe, 'handle').mockImplementation(async (request, signal) => {
      const answer = await answerOf(request, signal);
      held.mockRestore();
      const delivered = await (await deliver(placed.refundedInStripe(2500))).json();
      between = { delivered, order: await order(placed.id) };
      return answer;
    });
    const refunded = await refundOrder(env, staffCaller(), placed.id, { amount: 1500 });
    // The payment says what Stripe returned, both refunds; the order counts the one it recorded, with its event.
    expect(between).toMatchObject({
      delivered: { result: 'processed' },
      order: {
        status: 'partially_refunded',
        refunded_total: 1000,
        payments: [
          { status: 'refunded', amount_refunded: 2500, refunds: [{ amount: 1500 }, { amount: 1000 }] },
        ],
      },
    });
    expect(refunded).toMatchObject({
      status: 'refunded',
      refunded_total: 2500,
      payments: [
        { status: 'refunded', amount_refunded: 2500, refunds: [{ amount: 1500 }, { amount: 1000 }] },
      ],
    });
    expect(
      (await refundRecords(placed.id)).map((r) => {
        const { to, amount, refunded_total } = JSON.parse(r.payload as string);
        return { to, amount, refunded_total };
      }),
    ).toStrictEqual([
      { to: 'partially_refunded', amount: 1000, refunded_total: 1000 },
      { to: 'refunded', amount: 1500, refunded_total: 2500 },
    ]);
  });

  it('reaches the order when staff changed it between the webhook’s read and its batch', async () => {
    const placed = await shippedWithStripe();
    const event = placed.refundedInStripe(1000);
    const payload = JSON.stringify(event);
    let delivered = false;
    // Staff mark the order delivered once the order side's first call has read the order: every run alike.
    const result = await receiveStripeWebhook(db, env, webhookCaller(), {
      payload: new TextEncoder().encode(payload),
      signature: await signature(payload),
      onPaymentRefunded: async (database, refunded, when, caller) => {
        const extension = await refundOrderOnProviderRefund(database, refunded, when, caller);
        if (!delivered) {
          delivered = true;
          await markDelivered(env, staffCaller(), placed.id);
        }
        return extension;
      },
    });
    expect(result).toStrictEqual({ event_id: event.id, result: 'processed' });
    expect(await order(placed.id)).toMatchObject({
      status: 'partially_refunded',
      refunded_total: 1000,
      payments: [{ status: 'partially_refunded', amount_refunded: 1000 }],
    });
    expect(
      (
        await rows(
          'SELECT action, to_status FROM order_transitions WHERE order_id = ? ORDER BY rowid',
          placed.id,
        )
      ).map((t) => `${t.action}:${t.to_status}`),
    ).toStrictEqual(['place:paid', 'fulfil:fulfilled', 'deliver:delivered', 'refund:partially_refunded']);
    expect(await refundRecords(placed.id)).toHaveLength(1);
  });
});
