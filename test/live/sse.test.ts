/**
 * The SSE transport: the same messages as the WebSocket, one event each, whose id is the stream's cursor (every
 * topic's seq), so `Last-Event-ID` (or `last_event_id` for a new stream) resumes each topic where it stopped. The
 * Worker holds the stream; the channel only holds a hibernatable socket, so an open stream never pins it awake.
 */
import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import type { LiveChannel } from '../../src/durable-objects/live-channel';
import { STAFF_FEED_TOPIC } from '../../src/lib/live-messages';
import { SSE_RETRY_MS } from '../../src/modules/live/client-sinks';
import { admin } from '../helpers/admin-fixtures';
import { insertProductRow } from '../helpers/catalog-fixtures';
import { expectProblem } from '../helpers/http';
import {
  BOUNDED_POLL,
  channelOf,
  inStockEvent,
  liveProduct,
  openStream,
  publish,
  stockDraft,
  stream,
} from './helpers';

describe('GET /v1/live/sse', () => {
  it('streams a stock change as an event whose id is the seq', async () => {
    const product = await liveProduct();
    const [variant] = product.variants;
    const live = await stream(`?topics=${product.topic}`);
    expect(live.res.headers.get('Cache-Control')).toBe('no-store');
    expect(await live.next()).toStrictEqual({
      id: '0',
      message: { v: 1, type: 'subscribed', topic: product.topic, seq: 0 },
    });
    expect(live.retry).toBe(SSE_RETRY_MS);
    expect((await admin('PUT', `/inventory/${variant?.id}`, { on_hand: 2, reason: 'counted' })).status).toBe(
      200,
    );
    expect(await live.next()).toStrictEqual({
      id: '1',
      message: inStockEvent(product.topic, product.id, variant?.id as string, 1, 2),
    });
    await live.cancel();
  });

  it('resumes after Last-Event-ID, and after last_event_id for a stream the client opens itself', async () => {
    const product = await liveProduct();
    const [variant] = product.variants.map((v) => v.id) as [string];
    const first = await stream(`?topics=${product.topic}`);
    await first.next();
    await publish(product.topic, stockDraft(product.id, variant, 1));
    expect((await first.next()).id).toBe('1');
    await first.cancel();
    await publish(product.topic, stockDraft(product.id, variant, 2));
    await publish(product.topic, stockDraft(product.id, variant, 3));

    for (const resume of [
      stream(`?topics=${product.topic}`, { 'Last-Event-ID': '1' }),
      stream(`?topics=${product.topic}&last_event_id=1`),
    ]) {
      const again = await resume;
      expect(
        (await again.take(3)).map((e) => [e.id, e.message.type, 'seq' in e.message && e.message.seq]),
      ).toStrictEqual([
        ['1', 'subscribed', 3],
        ['2', 'stock', 2],
        ['3', 'stock', 3],
      ]);
      await again.cancel();
    }
  });

  it('keeps one position per topic in the id, in the order of the topics parameter', async () => {
    const [a, b] = await Promise.all([liveProduct(), liveProduct()]);
    if (!a || !b) throw new Error('fixtures');
    const variantOf = (p: typeof a) => p.variants[0]?.id as string;
    await publish(a.topic, stockDraft(a.id, variantOf(a), 1));
    const live = await stream(`?topics=${a.topic},${b.topic}`);
    // Each topic's `subscribed` and a's retained stock, as the two channels answered; a topic not heard from yet
    // has an empty position (`1,`), and once both have answered the id holds both.
    const opening = await live.take(3);
    expect(opening.map((e) => e.message)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'subscribed', topic: a.topic, seq: 1 }),
        expect.objectContaining({ type: 'subscribed', topic: b.topic, seq: 0 }),
        expect.objectContaining({ type: 'stock', topic: a.topic, seq: 1 }),
      ]),
    );
    expect(opening.at(-1)?.id).toBe('1,0');
    await publish(b.topic, stockDraft(b.id, variantOf(b), 5));
    expect(await live.next()).toMatchObject({
      id: '1,1',
      message: { type: 'stock', topic: b.topic, seq: 1 },
    });
    await live.cancel();

    await publish(a.topic, stockDraft(a.id, variantOf(a), 2));
    const resumed = await stream(`?topics=${a.topic},${b.topic}`, { 'Last-Event-ID': '1,1' });
    const events = await resumed.take(3);
    expect(events.filter((e) => e.message.type === 'stock')).toMatchObject([
      { id: '2,1', message: { topic: a.topic, seq: 2 } },
    ]);
    await resumed.cancel();
  });

  it('refuses what it can before the stream starts', async () => {
    const product = await liveProduct();
    await expectProblem(await openStream(''), 422, 'validation_failed', [
      { pointer: '/query/topics', message: expect.any(String) },
    ]);
    await expectProblem(await openStream(`?topics=${STAFF_FEED_TOPIC}`), 403, 'forbidden', [
      { pointer: '/query/topics/0', message: expect.any(String) },
    ]);
    await expectProblem(
      await openStream(`?topics=${product.topic},${product.topic}`),
      422,
      'validation_failed',
      [{ pointer: '/query/topics/1', message: 'Listed twice' }],
    );
    for (const lastEventId of ['x', '1,2', '-1', '1.5']) {
      await expectProblem(
        await openStream(`?topics=${product.topic}`, { 'Last-Event-ID': lastEventId }),
        422,
        'invalid_last_event_id',
        [{ pointer: '/header/Last-Event-ID', message: 'Expected 1 comma-separated seqs' }],
      );
    }
  });

  it('tells every cache not to keep a refusal, which holds only until the product goes on sale', async () => {
    // The refusals said nothing about caching, and RFC 9111 lets a shared cache keep a 404 by heuristics: a stream
    // opened just before a product's launch would go on being refused from the cache once it is on sale.
    const draft = await insertProductRow({ status: 'draft', variants: [{ prices: { USD: 1000 } }] });
    const notYet = await openStream(`?topics=product:${draft.id}`);
    expect(notYet.headers.get('Cache-Control')).toBe('no-store');
    await expectProblem(notYet, 404, 'topic_not_found', [
      { pointer: '/query/topics/0', message: 'No active product has this id.' },
    ]);
    const forbidden = await openStream(`?topics=${STAFF_FEED_TOPIC}`);
    expect(forbidden.headers.get('Cache-Control')).toBe('no-store');
    await expectProblem(forbidden, 403, 'forbidden', [
      { pointer: '/query/topics/0', message: expect.any(String) },
    ]);
  });

  it('does not keep the channel awake, and unsubscribes when the client goes', async () => {
    const product = await liveProduct();
    const [variant] = product.variants.map((v) => v.id) as [string];
    const live = await stream(`?topics=${product.topic}`);
    await live.next();
    // The Worker holds the stream; the channel holds a hibernatable socket and can be evicted meanwhile.
    await evictDurableObject(channelOf(product.topic));
    await publish(product.topic, stockDraft(product.id, variant, 9));
    expect(await live.next()).toMatchObject({ id: '1', message: { type: 'stock', data: { available: 9 } } });
    await live.cancel();
    await vi.waitFor(async () => {
      expect((await publish(product.topic, stockDraft(product.id, variant, 1))).delivered).toBe(0);
    }, BOUNDED_POLL);
  });

  it('ends the stream when the server loses a topic, so EventSource reconnects and resumes (it cannot resubscribe)', async () => {
    const product = await liveProduct();
    const [variant] = product.variants.map((v) => v.id) as [string];
    const live = await stream(`?topics=${product.topic}`);
    await live.next();
    await publish(product.topic, stockDraft(product.id, variant, 5));
    expect((await live.next()).id).toBe('1');
    // The channel loses its socket to the session (the object reset, or the runtime dropped it).
    await runInDurableObject(channelOf(product.topic), (_: LiveChannel, state: DurableObjectState) => {
      for (const ws of state.getWebSockets()) ws.close(1011, 'gone');
    });
    expect(await live.ended()).toStrictEqual([
      {
        id: undefined,
        message: { v: 1, type: 'unsubscribed', topic: product.topic, reason: 'channel_closed' },
      },
    ]);
    const again = await stream(`?topics=${product.topic}`, { 'Last-Event-ID': '1' });
    expect(await again.next()).toStrictEqual({
      id: '1',
      message: { v: 1, type: 'subscribed', topic: product.topic, seq: 1 },
    });
    await again.cancel();
  });
});
