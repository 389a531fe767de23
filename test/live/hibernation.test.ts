/**
 * Channels hibernate: their subscriber sockets outlive the object's instance (evicted as the runtime evicts an
 * idle object), what a subscription needs afterwards is in its socket's attachment, and the runtime answers the
 * sessions' pings without the object.
 */
import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { LiveChannel, SubscriberAttachment } from '../../src/durable-objects/live-channel';
import {
  CHANNEL_PING,
  CHANNEL_PONG,
  channelStub,
  subscriptionRequest,
} from '../../src/lib/live-channel-contract';
import { STAFF_FEED_TOPIC } from '../../src/lib/live-messages';
import { insertSecretKey } from '../helpers/admin';
import { bearer, call, jsonInit } from '../helpers/http';
import { attachmentsOf, channelOf, connect, liveProduct, publish, stockDraft } from './helpers';

/** A well-formed variant id for staff-feed events (the feed takes the publisher's word for it). */
const ANY_VARIANT = 'var_01JD3Q6C5W9ZK2M4T8R7XPN0AB';

describe('a hibernating channel', () => {
  it('keeps its subscribers through eviction and sends them the next event', async () => {
    const product = await liveProduct();
    const [variant] = product.variants.map((v) => v.id) as [string];
    const live = await connect();
    await live.subscribe(product.topic);
    const [attachment] = await attachmentsOf(product.topic);
    expect(attachment).toStrictEqual({
      topic: product.topic,
      transport: 'websocket',
      subscribedAt: expect.any(Number),
      until: null,
      public: true,
    });

    await evictDurableObject(channelOf(product.topic));
    // A new instance: the socket and its attachment are the runtime's, not the evicted instance's.
    expect(await attachmentsOf(product.topic)).toStrictEqual([attachment]);
    await evictDurableObject(channelOf(product.topic));
    expect(await publish(product.topic, stockDraft(product.id, variant, 4))).toStrictEqual({
      seq: 1,
      delivered: 1,
    });
    expect(await live.next()).toMatchObject({ type: 'stock', seq: 1, data: { available: 4 } });
    await live.close();
  });

  it('ends a subscription whose grant ran out while it slept, from the attachment', async () => {
    const key = (await insertSecretKey(['orders:read'])).key;
    const res = await call('/v1/live/tickets', jsonInit('POST', { topics: [STAFF_FEED_TOPIC] }, bearer(key)));
    const { ticket, subscriptions_end_at } = (await res.json()) as {
      ticket: string;
      subscriptions_end_at: string;
    };
    const live = await connect(`?ticket=${ticket}`);
    await live.subscribe(STAFF_FEED_TOPIC);
    const attachments = await attachmentsOf(STAFF_FEED_TOPIC);
    expect(attachments).toContainEqual({
      topic: STAFF_FEED_TOPIC,
      transport: 'websocket',
      subscribedAt: expect.any(Number),
      until: Date.parse(subscriptions_end_at),
      public: false,
    });

    await evictDurableObject(channelOf(STAFF_FEED_TOPIC));
    // An hour passes for this subscription: its attachment says its grant has ended.
    await runInDurableObject(channelOf(STAFF_FEED_TOPIC), (_: LiveChannel, state: DurableObjectState) => {
      for (const ws of state.getWebSockets()) {
        const attachment = ws.deserializeAttachment() as SubscriberAttachment;
        if (attachment.until === Date.parse(subscriptions_end_at)) {
          ws.serializeAttachment({ ...attachment, until: Date.now() - 1 });
        }
      }
    });
    await evictDurableObject(channelOf(STAFF_FEED_TOPIC));
    await publish(STAFF_FEED_TOPIC, {
      type: 'low_stock',
      data: {
        variant_id: ANY_VARIANT,
        sku: null,
        level: 'out_of_stock',
        previous_level: 'in_stock',
        available: 0,
      },
    });
    expect(await live.next()).toStrictEqual({
      v: 1,
      type: 'unsubscribed',
      topic: STAFF_FEED_TOPIC,
      reason: 'expired',
    });
    // The connection stays; only that subscription ended.
    live.send({ type: 'ping' });
    expect(await live.next()).toStrictEqual({ v: 1, type: 'pong' });
    await live.close();
  });

  it('has its subscribers’ pings answered by the runtime while it sleeps', async () => {
    const product = await liveProduct();
    const stub = channelStub(env.LIVE_CHANNEL, product.topic);
    const res = await stub.fetch(
      subscriptionRequest({ topic: product.topic, until: null, public: true, transport: 'sse' }),
    );
    const ws = res.webSocket as WebSocket;
    const received: string[] = [];
    const pong = new Promise<void>((resolve) =>
      ws.addEventListener('message', (event) => {
        received.push(String(event.data));
        if (event.data === CHANNEL_PONG) resolve();
      }),
    );
    ws.accept();
    await evictDurableObject(stub);
    ws.send(CHANNEL_PING);
    await pong;
    const answeredAt = await runInDurableObject(stub, (_: LiveChannel, state: DurableObjectState) =>
      state.getWebSockets().map((socket) => state.getWebSocketAutoResponseTimestamp(socket)),
    );
    expect(answeredAt).toStrictEqual([expect.any(Date)]);
    expect(received).toStrictEqual([
      JSON.stringify({ v: 1, type: 'subscribed', topic: product.topic, seq: 0 }),
      CHANNEL_PONG,
    ]);
    ws.close(1000, 'done');
  });
});
