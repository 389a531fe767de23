/**
 * The live module as a consumer of the event queue (src/jobs/event-consumers.ts): order and payment events become
 * live events, and a product taken off sale leaves the storefront's live view, after the commit that raised them,
 * from every path that raises them (checkout, payment webhooks and confirmations, staff changes, jobs) without
 * those paths knowing about live.
 *
 * - `order.*`: the order's status as D1 has it now goes to its owner's topic (`order_status`). Reading the current
 *   status, not the event's, makes the queue's lack of order harmless: an older event consumed late still sends the
 *   latest status.
 * - `order.created`: the new order (`order_placed`) and the running totals of the last hour per country
 *   (`sales_totals`, recomputed from D1) go to the staff feed.
 * - `payment.*`: the payment as it is now (`payment`) goes to the staff feed.
 * - `product.updated`, `product.deleted`: a product that is not active now (unpublished, archived, deleted) is
 *   withdrawn from the storefront: its topic's public subscriptions end (`LiveChannel.withdraw`). Reading the
 *   status now, an event consumed after the product was published again withdraws nothing.
 *
 * At least once: a delivery that published and then failed to mark the event done publishes again. Data values
 * are absolute, so a repeat is harmless; a client that shows the feed as a list may see one item twice.
 */
import { z } from 'zod';
import { createDb } from '../../lib/db';
import { AppError } from '../../lib/errors';
import type { CatalogEvent, EventType } from '../../lib/event-catalog';
import type { EventConsumer } from '../../lib/event-consumer';
import { channelStub } from '../../lib/live-channel-contract';
import {
  type LiveEventDraft,
  orderTopic,
  PaymentData,
  productTopic,
  STAFF_FEED_TOPIC,
  type Topic,
} from '../../lib/live-messages';
import { publishLive } from '../../lib/live-publish';
import { findOrder, salesByCountrySince } from '../orders/read';
import { isActiveProduct } from './access';

/** The window of the staff feed's running totals. */
export const SALES_WINDOW_MINUTES = 60;

/** The fields of a payment event's payload (the payment as the admin API shows it) that the staff feed shows. */
const PaymentPayload = z.object({
  id: z.string(),
  order_id: z.string().nullable(),
  status: z.string(),
  amount: z.number(),
  amount_captured: z.number(),
  amount_refunded: z.number(),
  currency: z.string(),
});

type Publication = [Topic, LiveEventDraft];

async function orderPublications(env: Env, event: CatalogEvent, orderId: string): Promise<Publication[]> {
  const db = createDb(env.DB);
  let order: Awaited<ReturnType<typeof findOrder>>;
  try {
    order = await findOrder(db, orderId);
  } catch (error) {
    // Gone (or never stored: a replayed event of a deleted test order): there is nothing to show.
    if (error instanceof AppError && error.status === 404) return [];
    throw error;
  }
  const status: Publication = [
    orderTopic(order.id),
    { type: 'order_status', data: { order_id: order.id, number: order.number, status: order.status } },
  ];
  if (event.type !== 'order.created') return [status];
  const since = new Date(Date.now() - SALES_WINDOW_MINUTES * 60_000);
  const countries = await salesByCountrySince(db, since);
  return [
    status,
    [
      STAFF_FEED_TOPIC,
      {
        type: 'order_placed',
        data: {
          order_id: order.id,
          number: order.number,
          status: order.status,
          country: order.shippingCountry,
          currency: order.currency,
          total: order.total,
        },
      },
    ],
    [STAFF_FEED_TOPIC, { type: 'sales_totals', data: { window_minutes: SALES_WINDOW_MINUTES, countries } }],
  ];
}

function paymentPublication(event: CatalogEvent): Publication[] {
  const payment = PaymentPayload.parse(event.data);
  const data = PaymentData.parse({
    payment_id: payment.id,
    order_id: payment.order_id,
    status: payment.status,
    amount: payment.amount,
    amount_captured: payment.amount_captured,
    amount_refunded: payment.amount_refunded,
    currency: payment.currency,
  });
  return [[STAFF_FEED_TOPIC, { type: 'payment', data }]];
}

const PRODUCT_CHANGES: readonly EventType[] = ['product.updated', 'product.deleted'];

async function withdrawIfOffSale(env: Env, productId: string): Promise<void> {
  if (await isActiveProduct(env.DB, productId)) return;
  await channelStub(env.LIVE_CHANNEL, productTopic(productId)).withdraw();
}

async function publishAll(env: Env, event: CatalogEvent): Promise<void> {
  const publications = event.type.startsWith('payment.')
    ? paymentPublication(event)
    : await orderPublications(env, event, event.aggregate.id);
  for (const [topic, draft] of publications) await publishLive(env.LIVE_CHANNEL, topic, draft);
}

export const liveConsumer: EventConsumer = {
  name: 'live',
  handles: (type) =>
    type.startsWith('order.') || type.startsWith('payment.') || PRODUCT_CHANGES.includes(type),
  async consume(env, event, { commitOnce }) {
    if (PRODUCT_CHANGES.includes(event.type)) await withdrawIfOffSale(env, event.aggregate.id);
    else await publishAll(env, event);
    await commitOnce({ statements: [] });
  },
};
