/**
 * The WebSocket transport end to end: a client upgrades through the Worker (global middleware, router, live
 * session) and follows product topics whose events come from the real publishers (the InventoryItem object
 * after a stock change, the variant service after a price change), through the topic's LiveChannel object.
 * Every malformed message is answered with an error and the socket stays open.
 */
import { exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { LIVE_LIMITS } from '../../src/lib/live-messages';
import { admin, ensureCurrencySold } from '../helpers/admin-fixtures';
import { insertProductRow } from '../helpers/catalog-fixtures';
import { ORIGIN } from '../helpers/http';
import {
  AT,
  BOUNDED_POLL,
  connect,
  inStockEvent,
  liveProduct,
  publish,
  stockDraft,
  upgrade,
} from './helpers';

beforeAll(async () => {
  await ensureCurrencySold('USD');
});

describe('GET /v1/live', () => {
  it('answers ping with pong', async () => {
    const live = await connect();
    live.send({ type: 'ping' });
    expect(await live.next()).toStrictEqual({ v: 1, type: 'pong' });
    await live.close();
  });

  it('answers every malformed, oversized or unknown message with an error and keeps the socket open', async () => {
    const live = await connect();
    const cases: [unknown, string, string][] = [
      ['{"type":', 'invalid_message', 'Not JSON.'],
      ['not json', 'invalid_message', 'Not JSON.'],
      [new Uint8Array([1, 2, 3]), 'invalid_message', 'Send JSON text messages, not binary ones.'],
      [[{ type: 'ping' }], 'invalid_message', expect.any(String)],
      [{ kind: 'ping' }, 'invalid_message', expect.stringMatching(/^type: /)],
      [{ type: 'shout' }, 'invalid_message', expect.stringMatching(/^type: /)],
      [{ type: 'subscribe' }, 'invalid_message', expect.stringMatching(/^topic: /)],
      [
        { type: 'subscribe', topic: 'product:nope' },
        'invalid_message',
        expect.stringMatching(/^topic: Not a topic/),
      ],
      [
        { type: 'subscribe', topic: 'staff:everything' },
        'invalid_message',
        expect.stringMatching(/^topic: /),
      ],
      [
        { type: 'subscribe', topic: 'staff:feed', after_seq: -1 },
        'invalid_message',
        expect.stringMatching(/^after_seq: /),
      ],
      [
        { type: 'subscribe', topic: 'staff:feed', after_seq: 1.5 },
        'invalid_message',
        expect.stringMatching(/^after_seq: /),
      ],
      [{ type: 'ping', extra: true }, 'invalid_message', expect.any(String)],
      [{ type: 'ping', v: 2 }, 'invalid_message', expect.stringMatching(/^v: /)],
      [
        { type: 'ping', pad: 'x'.repeat(LIVE_LIMITS.maxClientMessageBytes) },
        'message_too_large',
        'Messages are at most 4096 bytes.',
      ],
      // Under the limit in characters, over it in UTF-8 bytes.
      [{ type: 'ping', pad: 'é'.repeat(2100) }, 'message_too_large', 'Messages are at most 4096 bytes.'],
    ];
    for (const [message, code, text] of cases) {
      live.send(message);
      expect(await live.next()).toStrictEqual({ v: 1, type: 'error', code, message: text });
    }
    expect(live.ws.readyState).toBe(WebSocket.OPEN);
    live.send({ v: 1, type: 'ping' });
    expect(await live.next()).toStrictEqual({ v: 1, type: 'pong' });
    await live.close();
  });

  it('passes the global middleware untouched, even with a browser Origin', async () => {
    // Browsers always send Origin on a WebSocket handshake; CORS must not copy the 101 response.
    const log = vi.spyOn(console, 'log');
    const res = await upgrade('', { Origin: 'https://shop.test', 'X-Request-Id': 'live-test-0001' });
    expect(res.status).toBe(101);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull();
    expect(res.headers.get('X-Request-Id')).toBeNull();
    // The request line is still written.
    const lines = log.mock.calls
      .map(([line]) => String(line))
      .filter((line) => line.includes('live-test-0001'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toMatchObject([
      { level: 'info', msg: 'request', method: 'GET', path: '/v1/live', status: 101 },
    ]);
    log.mockRestore();
    res.webSocket?.accept();
    res.webSocket?.close(1000, 'done');
  });

  it('answers a plain GET with 426 problem+json', async () => {
    const res = await exports.default.fetch(new Request(`${ORIGIN}/v1/live`));
    expect(res.status).toBe(426);
    expect(res.headers.get('Upgrade')).toBe('websocket');
    expect(await res.json()).toStrictEqual({
      type: 'https://edgecart.dev/problems/upgrade_required',
      title: 'Upgrade Required',
      status: 426,
      detail: 'This endpoint only accepts a WebSocket upgrade.',
      code: 'upgrade_required',
      request_id: res.headers.get('X-Request-Id'),
    });
  });
});

describe('product topics', () => {
  it('sends a staff stock change to the product’s subscribers, as the storefront shows it', async () => {
    const product = await liveProduct();
    const [variant] = product.variants;
    const live = await connect();
    expect(await live.subscribe(product.topic)).toStrictEqual({
      v: 1,
      type: 'subscribed',
      topic: product.topic,
      seq: 0,
    });

    const res = await admin('PUT', `/inventory/${variant?.id}`, { on_hand: 7, reason: 'counted' });
    expect(res.status).toBe(200);
    expect(await live.next()).toStrictEqual(
      inStockEvent(product.topic, product.id, variant?.id as string, 1, 7),
    );
    await live.close();
  });

  it('sends a variant’s new prices after the write commits', async () => {
    const product = await liveProduct();
    const [, variant] = product.variants;
    const live = await connect();
    await live.subscribe(product.topic);
    const res = await admin('PUT', `/variants/${variant?.id}/prices`, {
      prices: [{ currency: 'USD', amount: 1299 }],
    });
    expect(res.status).toBe(200);
    expect(await live.next()).toStrictEqual({
      v: 1,
      type: 'price',
      topic: product.topic,
      seq: 1,
      at: AT,
      data: { product_id: product.id, variant_id: variant?.id, prices: [{ currency: 'USD', amount: 1299 }] },
    });
    await live.close();
  });

  it('subscribes at connect time to the topics in the URL', async () => {
    const product = await liveProduct();
    const live = await connect(`?topics=${product.topic}`);
    expect(await live.next()).toStrictEqual({ v: 1, type: 'subscribed', topic: product.topic, seq: 0 });
    await live.close();
  });

  it('refuses a topic that is not an active product', async () => {
    const draft = await insertProductRow({ status: 'draft' });
    const live = await connect();
    for (const topic of [`product:${draft.id}`, 'product:prod_01JD3Q6C5W9ZK2M4T8R7XPN0AB'] as const) {
      expect(await live.subscribe(topic)).toStrictEqual({
        v: 1,
        type: 'error',
        code: 'topic_not_found',
        message: 'No active product has this id.',
        topic,
      });
    }
    await live.close();
  });

  it('stops sending after unsubscribe, and says so', async () => {
    const product = await liveProduct();
    const [variant] = product.variants;
    const live = await connect();
    await live.subscribe(product.topic);
    live.send({ type: 'unsubscribe', topic: product.topic });
    expect(await live.next()).toStrictEqual({
      v: 1,
      type: 'unsubscribed',
      topic: product.topic,
      reason: 'requested',
    });
    // The channel has nobody left to send to.
    await vi.waitFor(async () => {
      const published = await publish(product.topic, stockDraft(product.id, variant?.id as string, 1));
      expect(published.delivered).toBe(0);
    }, BOUNDED_POLL);
    live.send({ type: 'unsubscribe', topic: product.topic });
    expect(await live.next()).toStrictEqual({
      v: 1,
      type: 'error',
      code: 'not_subscribed',
      message: 'This connection does not follow the topic.',
      topic: product.topic,
    });
    await live.close();
  });
});
