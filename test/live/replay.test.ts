/**
 * Reconnecting: a client that subscribes with its last seq gets exactly what it missed while the channel still
 * keeps it, or `resync` followed by the topic's retained state when it does not (pruned by count or age, a seq
 * the channel never handed out, events published while nobody followed for longer than the window).
 */
import { describe, expect, it } from 'vitest';
import { RETAINED_EVENTS, RETENTION_MS } from '../../src/durable-objects/live-channel-storage';
import { channelRows, connect, liveProduct, publish, stockDraft } from './helpers';

/**
 * A product topic with `count` stock events published (seq 1..count) while someone followed it, alternating
 * between its two variants.
 */
async function topicWithEvents(count: number) {
  const product = await liveProduct();
  const [first, second] = product.variants.map((v) => v.id) as [string, string];
  const watcher = await connect();
  await watcher.subscribe(product.topic);
  for (let i = 1; i <= count; i++) {
    await publish(product.topic, stockDraft(product.id, i % 2 === 1 ? first : second, i));
  }
  await watcher.close();
  return { ...product, first, second };
}

describe('subscribe with after_seq', () => {
  it('replays what came after the seq, in order, then goes on live', async () => {
    const product = await liveProduct();
    const [variant] = product.variants.map((v) => v.id) as [string];
    const live = await connect();
    await live.subscribe(product.topic);
    await publish(product.topic, stockDraft(product.id, variant, 1));
    expect(await live.next()).toMatchObject({ type: 'stock', seq: 1 });
    await live.close();

    // Missed while disconnected.
    await publish(product.topic, stockDraft(product.id, variant, 2));
    await publish(product.topic, stockDraft(product.id, variant, 3));

    const again = await connect();
    expect(await again.subscribe(product.topic, { after_seq: 1 })).toStrictEqual({
      v: 1,
      type: 'subscribed',
      topic: product.topic,
      seq: 3,
    });
    expect(await again.take(2)).toMatchObject([
      { type: 'stock', seq: 2, data: { available: 2 } },
      { type: 'stock', seq: 3, data: { available: 3 } },
    ]);
    await publish(product.topic, stockDraft(product.id, variant, 4));
    expect(await again.next()).toMatchObject({ type: 'stock', seq: 4, data: { available: 4 } });
    await again.close();
  });

  it('sends nothing more than `subscribed` to a client that missed nothing', async () => {
    const product = await topicWithEvents(2);
    const live = await connect();
    expect(await live.subscribe(product.topic, { after_seq: 2 })).toMatchObject({
      type: 'subscribed',
      seq: 2,
    });
    // The next message is the answer to a ping: nothing was replayed before it.
    live.send({ type: 'ping' });
    expect(await live.next()).toStrictEqual({ v: 1, type: 'pong' });
    await live.close();
  });

  it('sends a new subscriber the retained state: the latest stock of each variant', async () => {
    const product = await topicWithEvents(5);
    const live = await connect();
    expect(await live.subscribe(product.topic)).toMatchObject({ type: 'subscribed', seq: 5 });
    expect(await live.take(2)).toMatchObject([
      { type: 'stock', seq: 4, data: { variant_id: product.second, available: 4 } },
      { type: 'stock', seq: 5, data: { variant_id: product.first, available: 5 } },
    ]);
    await live.close();
  });

  it('replays what was published just after the only subscriber of a topic never published to left', async () => {
    const product = await liveProduct();
    const [variant] = product.variants.map((v) => v.id) as [string];
    // A direct client: the channel answers its close itself, so it has forgotten it once the close completes.
    const first = await connect(`?topic=${product.topic}`, {}, '/v1/live/channel');
    expect(await first.next()).toMatchObject({ type: 'subscribed', seq: 0 });
    await first.close();
    await publish(product.topic, stockDraft(product.id, variant, 7));
    expect(await channelRows(product.topic, 'SELECT seq FROM events')).toStrictEqual([{ seq: 1 }]);
    const again = await connect();
    expect(await again.subscribe(product.topic, { after_seq: 0 })).toMatchObject({
      type: 'subscribed',
      seq: 1,
    });
    expect(await again.next()).toMatchObject({ type: 'stock', seq: 1, data: { available: 7 } });
    await again.close();
  });

  it('says resync, then sends the retained state, when what was missed is no longer kept', async () => {
    const product = await topicWithEvents(RETAINED_EVENTS + 3);
    const head = RETAINED_EVENTS + 3;
    const kept = await channelRows(product.topic, 'SELECT MIN(seq) AS first, COUNT(*) AS n FROM events');
    expect(kept).toStrictEqual([{ first: 4, n: RETAINED_EVENTS }]);

    const live = await connect();
    expect(await live.subscribe(product.topic, { after_seq: 2 })).toMatchObject({
      type: 'subscribed',
      seq: head,
    });
    expect(await live.take(3)).toMatchObject([
      { type: 'resync', topic: product.topic, seq: head },
      { type: 'stock', seq: head - 1 },
      { type: 'stock', seq: head },
    ]);
    // From the oldest kept event on, replay still works.
    live.send({ type: 'unsubscribe', topic: product.topic });
    expect(await live.next()).toMatchObject({ type: 'unsubscribed' });
    expect(await live.subscribe(product.topic, { after_seq: 3 })).toMatchObject({
      type: 'subscribed',
      seq: head,
    });
    expect(await live.next()).toMatchObject({ type: 'stock', seq: 4 });
    await live.close();
  });

  it('says resync for events older than the retention window, and for a seq the channel never reached', async () => {
    const product = await topicWithEvents(3);
    await channelRows(product.topic, 'UPDATE events SET at = at - ? WHERE seq <= 2', RETENTION_MS + 1);
    const live = await connect();
    expect(await live.subscribe(product.topic, { after_seq: 1 })).toMatchObject({
      type: 'subscribed',
      seq: 3,
    });
    expect(await live.next()).toMatchObject({ type: 'resync', seq: 3 });
    expect(await live.take(2)).toMatchObject([{ seq: 2 }, { seq: 3 }]);

    const other = await connect();
    expect(await other.subscribe(product.topic, { after_seq: 99 })).toMatchObject({
      type: 'subscribed',
      seq: 3,
    });
    expect(await other.next()).toMatchObject({ type: 'resync', seq: 3 });
    await Promise.all([live.close(), other.close()]);
  });

  it('keeps no events for a topic nobody follows, only the seq and the state', async () => {
    const product = await liveProduct();
    const [first, second] = product.variants.map((v) => v.id) as [string, string];
    await publish(product.topic, stockDraft(product.id, first, 1));
    await publish(product.topic, stockDraft(product.id, second, 2));
    expect(await publish(product.topic, stockDraft(product.id, first, 3))).toStrictEqual({
      seq: 3,
      delivered: 0,
    });
    expect(await channelRows(product.topic, 'SELECT seq FROM events')).toStrictEqual([]);
    expect(await channelRows(product.topic, 'SELECT seq FROM channel')).toStrictEqual([{ seq: 3 }]);
    expect(await channelRows(product.topic, 'SELECT key, seq FROM retained ORDER BY seq')).toStrictEqual([
      { key: `stock:${second}`, seq: 2 },
      { key: `stock:${first}`, seq: 3 },
    ]);
    const live = await connect();
    expect(await live.subscribe(product.topic, { after_seq: 1 })).toMatchObject({
      type: 'subscribed',
      seq: 3,
    });
    expect(await live.take(3)).toMatchObject([
      { type: 'resync', seq: 3 },
      { type: 'stock', seq: 2 },
      { type: 'stock', seq: 3 },
    ]);
    await live.close();
  });
});
