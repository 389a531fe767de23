/**
 * What Stripe reports after the fact reaching the order, through the real webhook route with events signed as
 * Stripe signs them, on orders placed through real checkout: an authorization Stripe cancels (its 7-day expiry,
 * or a void in its dashboard) cancels the paid order it paid for, with its transition, audit entry, event and
 * units back, once; and a settlement marking an order paid is audited once, whichever report made it.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { systemCaller } from '../../src/lib/caller';
import { stockSnapshot } from '../../src/modules/inventory/stock';
import { cancelOrderAs } from '../../src/modules/orders/cancel';
import { cancelOrderOnProviderVoid } from '../../src/modules/orders/settlement';
import { receiveStripeWebhook } from '../../src/modules/payments/webhook-service';
import { admin, rows } from '../helpers/admin-fixtures';
import { seedRegions } from '../helpers/catalog-fixtures';
import { shippingOption } from '../helpers/checkout';
import { deliver, FakeStripe, signature, stripeEvent } from '../helpers/fake-stripe';
import { call, expectProblem } from '../helpers/http';
import { db } from '../helpers/payments';
import {
  adminOrder,
  eventTypes,
  type PlacedOrder,
  paidOrder,
  pendingStripeOrder,
} from '../helpers/placed-orders';

const stripe = new FakeStripe();
stripe.install();

beforeAll(async () => {
  await seedRegions();
  await shippingOption('eu', { amount: 500 });
});
beforeEach(() => {
  stripe.behaviour = 'serve';
});

const intentOf = (placed: PlacedOrder) => {
  const intent = stripe.intents.get(placed.providerRef);
  if (!intent) throw new Error(`no PaymentIntent ${placed.providerRef}`);
  return intent;
};

/** Stripe's `payment_intent.canceled` for the order's PaymentIntent, canceled by Stripe itself (no API request). */
function canceledByStripe(placed: PlacedOrder) {
  return stripeEvent('payment_intent.canceled', {
    ...intentOf(placed),
    status: 'canceled',
    amount_capturable: 0,
  });
}

async function expectResult(res: Response, eventId: string, result: string) {
  expect(res.status).toBe(200);
  expect(await res.json()).toStrictEqual({ event_id: eventId, result });
}

const transitions = (orderId: string) =>
  rows(
    'SELECT action, from_status, to_status, actor_type, actor_id, reason FROM order_transitions WHERE order_id = ? ORDER BY at, rowid',
    orderId,
  );

/** The order's cancel transitions: who, and why. */
const cancels = async (orderId: string) =>
  (await transitions(orderId))
    .filter((t) => t.action === 'cancel')
    .map((t) => ({ actor_type: t.actor_type, reason: t.reason }));

const auditOf = async (orderId: string, action: string) =>
  (
    await rows(
      'SELECT actor_type, actor_id, changes FROM audit_log WHERE target_type = ? AND target_id = ? AND action = ? ORDER BY rowid',
      'order',
      orderId,
      action,
    )
  ).map((r) => ({ ...r, changes: JSON.parse(r.changes as string) }));

const canceledPayloads = async (orderId: string) =>
  (
    await rows(
      "SELECT payload FROM outbox_events WHERE type = 'order.canceled' AND aggregate_id = ? ORDER BY rowid",
      orderId,
    )
  ).map((r) => JSON.parse(r.payload as string));

const stockOf = async (variantId: string) => {
  const { on_hand, reserved, available } = await stockSnapshot(env.INVENTORY_ITEM, variantId);
  return { on_hand, reserved, available };
};

describe('an authorization Stripe cancels (expired, or voided in its dashboard)', () => {
  const REASON = 'stripe authorization canceled (webhook)';

  it('cancels the paid order in the webhook’s batch, as a staff cancel would, and gives its units back', async () => {
    const placed = await paidOrder('stripe');
    expect(await stockOf(placed.variantId)).toStrictEqual({ on_hand: 3, reserved: 0, available: 3 });

    const event = canceledByStripe(placed);
    await expectResult(await deliver(event), event.id, 'processed');

    expect(await adminOrder(placed.id)).toMatchObject({
      status: 'canceled',
      stock_status: 'returned',
      payments: [{ status: 'voided', amount_captured: 0 }],
    });
    expect(await stockOf(placed.variantId)).toStrictEqual({ on_hand: 5, reserved: 0, available: 5 });
    expect((await transitions(placed.id)).at(-1)).toStrictEqual({
      action: 'cancel',
      from_status: 'paid',
      to_status: 'canceled',
      actor_type: 'system',
      actor_id: 'stripe-webhook',
      reason: REASON,
    });
    const summary = {
      from: 'paid',
      to: 'canceled',
      reason: REASON,
      id: placed.id,
      region: 'eu',
      country: 'DE',
      currency: 'EUR',
      amount: 2500,
    };
    expect(await auditOf(placed.id, 'order.cancel')).toStrictEqual([
      { actor_type: 'system', actor_id: 'stripe-webhook', changes: summary },
    ]);
    const [payload] = await canceledPayloads(placed.id);
    expect(payload).toStrictEqual({ ...summary, number: expect.any(String) });
    expect(await eventTypes('order', [placed.id])).toStrictEqual([
      'order.created',
      'order.paid',
      'order.canceled',
    ]);
    expect(await eventTypes('payment', [placed.paymentId])).toStrictEqual([
      'payment.authorized',
      'payment.voided',
    ]);

    // The same shape as a staff cancel's event, field for field.
    const other = await paidOrder('stripe');
    expect((await admin('POST', `/orders/${other.id}/cancel`, { reason: 'Customer asked' })).status).toBe(
      200,
    );
    const [staffPayload] = await canceledPayloads(other.id);
    expect(Object.keys(payload).sort()).toStrictEqual(Object.keys(staffPayload).sort());

    // Nothing ships now; the answer says why.
    await expectProblem(
      await admin('POST', `/orders/${placed.id}/fulfillments`, { carrier: 'DHL', tracking_number: 'T' }),
      409,
      'invalid_transition',
    );
  });

  it('cancels once when Stripe redelivers the event, or sends it twice at once', async () => {
    const placed = await paidOrder('stripe');
    const event = canceledByStripe(placed);
    const answers = await Promise.all([deliver(event), deliver(event)]);
    const results = await Promise.all(
      answers.map(async (r) => ((await r.json()) as { result: string }).result),
    );
    expect(results.sort()).toStrictEqual(['duplicate', 'processed']);
    await expectResult(await deliver(event), event.id, 'duplicate');
    // Stripe also sends a new event for the same cancellation (a second endpoint's copy, say): nothing more.
    const again = canceledByStripe(placed);
    await expectResult(await deliver(again), again.id, 'ignored');

    expect(await cancels(placed.id)).toStrictEqual([{ actor_type: 'system', reason: REASON }]);
    expect(await auditOf(placed.id, 'order.cancel')).toHaveLength(1);
    expect(await canceledPayloads(placed.id)).toHaveLength(1);
    expect(await stockOf(placed.variantId)).toStrictEqual({ on_hand: 5, reserved: 0, available: 5 });
  });

  it('changes nothing more when the void was edgecart’s own (a staff cancel), reported after its batch', async () => {
    const placed = await paidOrder('stripe');
    expect((await admin('POST', `/orders/${placed.id}/cancel`, { reason: 'Customer asked' })).status).toBe(
      200,
    );
    const ownKey = stripe.lastRequest(`/payment_intents/${placed.providerRef}/cancel`).headers[
      'idempotency-key'
    ];
    const reported = stripeEvent('payment_intent.canceled', intentOf(placed), ownKey);
    await expectResult(await deliver(reported), reported.id, 'ignored');

    expect(await cancels(placed.id)).toStrictEqual([{ actor_type: 'secret_key', reason: 'Customer asked' }]);
    expect(await canceledPayloads(placed.id)).toHaveLength(1);
    expect(await auditOf(placed.id, 'order.cancel')).toHaveLength(1);
    expect(await stockOf(placed.variantId)).toStrictEqual({ on_hand: 5, reserved: 0, available: 5 });
  });

  it('leaves the staff cancel to record the order when its own void is reported before its batch', async () => {
    const placed = await paidOrder('stripe');
    const answerOf = stripe.handle.bind(stripe);
    let delivered: unknown;
    // Stripe's report of the staff cancel's void arrives after Stripe answered the call, before the cancel's batch.
    stripe.handle = async (request, signal) => {
      const answer = await answerOf(request, signal);
      if (new URL(request.url).pathname.endsWith('/cancel')) {
        stripe.handle = answerOf;
        const key = request.headers.get('Idempotency-Key');
        delivered = await (
          await deliver(stripeEvent('payment_intent.canceled', intentOf(placed), key))
        ).json();
      }
      return answer;
    };
    const canceled = await cancelOrderAs(env, staffCaller(), placed.id, 'Customer asked');
    expect(delivered).toMatchObject({ result: 'processed' });
    expect(canceled).toMatchObject({ status: 'canceled' });
    expect(await cancels(placed.id)).toStrictEqual([{ actor_type: 'staff', reason: 'Customer asked' }]);
    expect(await canceledPayloads(placed.id)).toHaveLength(1);
    expect(await stockOf(placed.variantId)).toStrictEqual({ on_hand: 5, reserved: 0, available: 5 });
  });

  it('cancels once when a staff cancel commits between the webhook’s read and its batch', async () => {
    const placed = await paidOrder('stripe');
    // Stripe's expiry event is sent as staff cancel: their void still reaches Stripe, which answers it.
    const event = canceledByStripe(placed);
    const payload = JSON.stringify(event);
    let canceledBetween = false;
    const result = await receiveStripeWebhook(db, env, systemCaller('stripe-webhook', crypto.randomUUID()), {
      payload: new TextEncoder().encode(payload),
      signature: await signature(payload),
      onPaymentVoided: async (database, environment, voided, when, caller) => {
        const extension = await cancelOrderOnProviderVoid(database, environment, voided, when, caller);
        if (!canceledBetween) {
          canceledBetween = true;
          await cancelOrderAs(env, staffCaller(), placed.id, 'Customer asked');
        }
        return extension;
      },
    });
    expect(result).toStrictEqual({ event_id: event.id, result: 'ignored' });
    expect(await adminOrder(placed.id)).toMatchObject({
      status: 'canceled',
      payments: [{ status: 'voided' }],
    });
    expect(await cancels(placed.id)).toStrictEqual([{ actor_type: 'staff', reason: 'Customer asked' }]);
    expect(await canceledPayloads(placed.id)).toHaveLength(1);
    expect(await stockOf(placed.variantId)).toStrictEqual({ on_hand: 5, reserved: 0, available: 5 });
  });

  it('leaves an order that is not paid alone: one waiting for the shopper (the sweep cancels it), one shipped', async () => {
    const waiting = await pendingStripeOrder();
    const event = canceledByStripe(waiting);
    await expectResult(await deliver(event), event.id, 'processed');
    expect(await adminOrder(waiting.id)).toMatchObject({
      status: 'pending_payment',
      payments: [{ status: 'voided' }],
    });
    expect(await eventTypes('order', [waiting.id])).toStrictEqual(['order.created']);

    const shipped = await paidOrder('stripe');
    expect(
      (await admin('POST', `/orders/${shipped.id}/fulfillments`, { carrier: 'DHL', tracking_number: 'T' }))
        .status,
    ).toBe(201);
    const late = canceledByStripe(shipped);
    await expectResult(await deliver(late), late.id, 'ignored');
    expect(await adminOrder(shipped.id)).toMatchObject({
      status: 'fulfilled',
      payments: [{ status: 'captured' }],
    });
  });
});

const staffCaller = () => ({
  ...systemCaller('staff-cancel', crypto.randomUUID()),
  actor: { type: 'staff' as const, id: 'stf_provider_reports_test' },
});

describe('a settlement marking the order paid', () => {
  const confirm = (placed: PlacedOrder) =>
    call(`/v1/store/orders/${placed.id}/confirm-payment`, {
      method: 'POST',
      headers: { 'X-Order-Token': placed.token },
    });
  const authorizedEvent = (placed: PlacedOrder) =>
    stripeEvent('payment_intent.amount_capturable_updated', intentOf(placed));
  const paidSummary = (placed: PlacedOrder, via: string) => ({
    from: 'pending_payment',
    to: 'paid',
    reason: `stripe payment authorized (${via})`,
    id: placed.id,
    region: 'eu',
    country: 'DE',
    currency: 'EUR',
    amount: 2500,
    payment_id: placed.paymentId,
    via,
  });

  it('is audited as Stripe’s report through the webhook', async () => {
    const placed = await pendingStripeOrder();
    stripe.confirm(placed.providerRef);
    const event = authorizedEvent(placed);
    await expectResult(await deliver(event), event.id, 'processed');
    expect(await auditOf(placed.id, 'order.pay')).toStrictEqual([
      { actor_type: 'system', actor_id: 'stripe-webhook', changes: paidSummary(placed, 'webhook') },
    ]);
  });

  it('is audited as Stripe’s report through the storefront’s confirmation (an anonymous shopper asked)', async () => {
    const placed = await pendingStripeOrder();
    stripe.confirm(placed.providerRef);
    const res = await confirm(placed);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe('paid');
    expect(await auditOf(placed.id, 'order.pay')).toStrictEqual([
      { actor_type: 'system', actor_id: 'stripe-confirmation', changes: paidSummary(placed, 'confirmation') },
    ]);
  });

  it('is audited once between the two reports, whichever comes first, and when both come at once', async () => {
    for (const order of ['webhook first', 'confirmation first', 'together'] as const) {
      const placed = await pendingStripeOrder();
      stripe.confirm(placed.providerRef);
      const event = authorizedEvent(placed);
      if (order === 'webhook first') {
        await deliver(event);
        await confirm(placed);
      } else if (order === 'confirmation first') {
        await confirm(placed);
        await deliver(event);
      } else {
        await Promise.all([deliver(event), confirm(placed)]);
      }
      expect(await auditOf(placed.id, 'order.pay'), order).toHaveLength(1);
      expect(await eventTypes('order', [placed.id]), order).toStrictEqual(['order.created', 'order.paid']);
    }
  });
});
