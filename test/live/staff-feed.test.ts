/**
 * The staff feed: new orders with the running totals of the last hour per country, payments (both from the event
 * queue's live consumer, fed real message batches), and low-stock alerts (from the inventory journal, once D1 has
 * recorded the level), for a connection holding a ticket for `staff:feed`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/lib/ids';
import { STAFF_FEED_TOPIC, type Topic } from '../../src/lib/live-messages';
import { liveConsumer, SALES_WINDOW_MINUTES } from '../../src/modules/live/consumer';
import { insertSecretKey } from '../helpers/admin';
import { admin, ensureCurrencySold } from '../helpers/admin-fixtures';
import { deliverBatch, syntheticEnvelope } from '../helpers/events';
import { bearer, call, jsonInit } from '../helpers/http';
import { insertOrder, ORDER_ADDRESS, type PlacedFixture } from '../helpers/order-fixtures';
import { AT, channelRows, connect, type LiveSocket, liveProduct } from './helpers';

let ticketKey: string;

beforeAll(async () => {
  await ensureCurrencySold('USD');
  ticketKey = (await insertSecretKey(['orders:read'])).key;
});

/** A connection following the staff feed (and `also`), past its `subscribed` messages and retained state. */
async function followFeed(...also: Topic[]): Promise<LiveSocket> {
  const topics: Topic[] = [STAFF_FEED_TOPIC, ...also];
  const res = await call('/v1/live/tickets', jsonInit('POST', { topics }, bearer(ticketKey)));
  const { ticket } = (await res.json()) as { ticket: string };
  const live = await connect(`?ticket=${ticket}`);
  for (const topic of topics) {
    const subscribed = await live.subscribe(topic);
    expect(subscribed).toMatchObject({ type: 'subscribed', topic });
    // The feed's retained totals, when an earlier test left some.
    if (topic === STAFF_FEED_TOPIC && 'seq' in subscribed && subscribed.seq > 0) {
      expect(await live.next()).toMatchObject({ type: 'sales_totals' });
    }
  }
  return live;
}

/** The `order.created` envelope checkout's batch raises, for an order placed by the fixture. */
function orderCreated(placed: PlacedFixture) {
  const { order, lines } = placed;
  return syntheticEnvelope('order.created', {
    id: order.id,
    customer_id: order.customerId,
    email: order.email,
    locale: null,
    region: 'eu',
    country: order.shippingCountry,
    currency: order.currency,
    subtotal: order.subtotal,
    discount_total: order.discountTotal,
    shipping_total: order.shippingTotal,
    tax_total: order.taxTotal,
    total: order.total,
    items: lines.map((line) => ({
      variant_id: line.variantId,
      sku: line.sku,
      title: line.productTitle,
      quantity: line.quantity,
      unit_price: line.unitPrice,
      total: line.total,
    })),
  });
}

describe('the staff feed', () => {
  it('announces a new order with the last hour’s totals per country, and tells its owner its status', async () => {
    // This file's only orders: one in DE an hour ago at most, one two hours ago, one canceled, the new one in FR.
    const recent = await insertOrder({ status: 'paid' });
    await insertOrder({ status: 'paid', createdAt: new Date(Date.now() - 2 * 3_600_000) });
    await insertOrder({ status: 'canceled' });
    const placed = await insertOrder({
      status: 'pending_payment',
      shippingAddress: { ...ORDER_ADDRESS, country_code: 'FR', city: 'Paris', postal_code: '75001' },
    });
    const orderTopic = `order:${placed.order.id}` as Topic;
    const live = await followFeed(orderTopic);

    const created = orderCreated(placed);
    const result = await deliverBatch([created], { consumers: [liveConsumer] });
    expect(result.acked).toHaveLength(1);
    const messages = await live.take(3);
    expect(messages).toStrictEqual(
      expect.arrayContaining([
        {
          v: 1,
          type: 'order_status',
          topic: orderTopic,
          seq: 1,
          at: AT,
          data: { order_id: placed.order.id, number: placed.order.number, status: 'pending_payment' },
        },
        {
          v: 1,
          type: 'order_placed',
          topic: STAFF_FEED_TOPIC,
          seq: 1,
          at: AT,
          data: {
            order_id: placed.order.id,
            number: placed.order.number,
            status: 'pending_payment',
            country: 'FR',
            currency: 'EUR',
            total: placed.order.total,
          },
        },
        {
          v: 1,
          type: 'sales_totals',
          topic: STAFF_FEED_TOPIC,
          seq: 2,
          at: AT,
          data: {
            window_minutes: SALES_WINDOW_MINUTES,
            countries: [
              { country: 'DE', currency: 'EUR', orders: 1, total: recent.order.total },
              { country: 'FR', currency: 'EUR', orders: 1, total: placed.order.total },
            ],
          },
        },
      ]),
    );

    // The same event delivered again (the handler saw its processed mark) publishes nothing more.
    await deliverBatch([created], { consumers: [liveConsumer] });
    expect(await channelRows(STAFF_FEED_TOPIC, 'SELECT seq FROM channel')).toStrictEqual([{ seq: 2 }]);
    await live.close();
  });

  it('shows payments as they change', async () => {
    const live = await followFeed();
    const paymentId = newId('pay');
    const payment = syntheticEnvelope('payment.captured', {
      id: paymentId,
      order_id: null,
      cart_id: 'cart_test',
      provider: 'manual',
      provider_ref: 'manual_test',
      status: 'captured',
      amount: 2500,
      currency: 'EUR',
      amount_captured: 2500,
      amount_refunded: 0,
      failure_code: null,
      created_at: new Date().toISOString(),
      updated_at: new Date().toISOString(),
    });
    expect((await deliverBatch([payment], { consumers: [liveConsumer] })).acked).toHaveLength(1);
    expect(await live.next()).toStrictEqual({
      v: 1,
      type: 'payment',
      topic: STAFF_FEED_TOPIC,
      seq: expect.any(Number),
      at: AT,
      data: {
        payment_id: paymentId,
        order_id: null,
        status: 'captured',
        amount: 2500,
        amount_captured: 2500,
        amount_refunded: 0,
        currency: 'EUR',
      },
    });
    await live.close();
  });

  it('announces a variant going low on stock, once D1 has recorded it', async () => {
    const product = await liveProduct();
    const [variant] = product.variants;
    const live = await followFeed();
    await admin('PATCH', `/inventory/${variant?.id}`, { low_stock_threshold: 5, reason: 'set threshold' });
    expect((await admin('PUT', `/inventory/${variant?.id}`, { on_hand: 3, reason: 'counted' })).status).toBe(
      200,
    );
    expect(await live.next()).toStrictEqual({
      v: 1,
      type: 'low_stock',
      topic: STAFF_FEED_TOPIC,
      seq: expect.any(Number),
      at: AT,
      data: {
        variant_id: variant?.id,
        sku: variant?.sku,
        level: 'low_stock',
        previous_level: 'out_of_stock',
        available: 3,
      },
    });
    await live.close();
  });
});
