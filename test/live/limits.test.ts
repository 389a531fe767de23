/**
 * What one connection may do: follow at most LIVE_LIMITS.maxSubscriptions topics, each once; send messages at a
 * bounded rate (refused with an error, then cut off with 1008); and read what it is sent: a client that lets its
 * backlog pass LIVE_LIMITS.maxBacklogBytes is told so and dropped (WebSocket close 4008; SSE: the stream ends).
 */
import { describe, expect, it } from 'vitest';
import { LIVE_CLOSE_CODES, LIVE_LIMITS } from '../../src/lib/live-messages';
import { MessageBudget } from '../../src/modules/live/message-budget';
import {
  connect,
  LiveSocket,
  LiveStream,
  liveProduct,
  openStream,
  publishUntilDropped,
  upgrade,
} from './helpers';

describe('subscriptions per connection', () => {
  it('follows each topic once, and at most the limit', async () => {
    const products = await Promise.all(
      Array.from({ length: LIVE_LIMITS.maxSubscriptions + 1 }, () => liveProduct()),
    );
    const live = await connect();
    const [first] = products as [Awaited<ReturnType<typeof liveProduct>>];
    await live.subscribe(first.topic);
    expect(await live.subscribe(first.topic)).toStrictEqual({
      v: 1,
      type: 'error',
      code: 'already_subscribed',
      message: 'This connection already follows the topic.',
      topic: first.topic,
    });
    for (const product of products.slice(1, -1)) {
      expect(await live.subscribe(product.topic)).toMatchObject({ type: 'subscribed' });
    }
    const last = products.at(-1) as Awaited<ReturnType<typeof liveProduct>>;
    expect(await live.subscribe(last.topic)).toStrictEqual({
      v: 1,
      type: 'error',
      code: 'too_many_subscriptions',
      message: `A connection follows at most ${LIVE_LIMITS.maxSubscriptions} topics; unsubscribe from one first.`,
      topic: last.topic,
    });
    // Room again after an unsubscribe.
    live.send({ type: 'unsubscribe', topic: first.topic });
    expect(await live.next()).toMatchObject({ type: 'unsubscribed', reason: 'requested' });
    expect(await live.subscribe(last.topic)).toMatchObject({ type: 'subscribed', topic: last.topic });
    await live.close();
  });

  it('refuses more topics than the limit in the URL', async () => {
    const product = await liveProduct();
    const topics = Array.from({ length: LIVE_LIMITS.maxSubscriptions + 1 }, (_, i) =>
      i === 0 ? product.topic : `product:prod_01JD3Q6C5W9ZK2M4T8R7XPN${String(i).padStart(3, '0')}`,
    );
    const res = await upgrade(`?topics=${topics.join(',')}`);
    expect(res.status).toBe(422);
  });
});

describe('message rate', () => {
  it('refuses messages over the budget with an error, then closes with 1008', async () => {
    const live = await connect();
    // Far more than any refill during the burst could cover.
    for (let i = 0; i < 10 * LIVE_LIMITS.messageBurst; i++) live.send({ type: 'ping' });
    const received: string[] = [];
    const closed = live.waitClosed();
    const end = closed.then(() => null);
    for (
      let next = await Promise.race([live.next(), end]);
      next;
      next = await Promise.race([live.next(), end])
    ) {
      received.push(next.type === 'error' ? next.code : next.type);
    }
    const event = await closed;
    expect(event.code).toBe(LIVE_CLOSE_CODES.policyViolation);
    expect(event.reason).toBe('rate limit exceeded');
    const pongs = received.filter((type) => type === 'pong').length;
    expect(pongs).toBeGreaterThanOrEqual(LIVE_LIMITS.messageBurst);
    // Everything after the burst is a refusal, the last maxRefusedInARow of them in a row.
    expect(received.slice(-LIVE_LIMITS.maxRefusedInARow)).toStrictEqual(
      Array.from({ length: LIVE_LIMITS.maxRefusedInARow }, () => 'rate_limited'),
    );
    expect(new Set(received)).toStrictEqual(new Set(['pong', 'rate_limited']));
  });
});

describe('MessageBudget', () => {
  it('allows a burst, refills over time, and is exhausted by refusals in a row', () => {
    let now = 0;
    const budget = new MessageBudget(() => now, {
      messageBurst: 3,
      messagesPerSecond: 2,
      maxRefusedInARow: 2,
    });
    expect([budget.take(), budget.take(), budget.take()]).toStrictEqual(['allowed', 'allowed', 'allowed']);
    expect(budget.take()).toBe('refused');
    now += 500;
    expect(budget.take()).toBe('allowed');
    expect([budget.take(), budget.take(), budget.take()]).toStrictEqual(['refused', 'refused', 'exhausted']);
    // The bucket never holds more than the burst.
    now += 60_000;
    expect([budget.take(), budget.take(), budget.take(), budget.take()]).toStrictEqual([
      'allowed',
      'allowed',
      'allowed',
      'refused',
    ]);
  });
});

describe('slow consumers', () => {
  it('drops a WebSocket client that does not read, with an error and close code 4008', async () => {
    const product = await liveProduct();
    const [variant] = product.variants.map((v) => v.id) as [string];
    const res = await upgrade(`?topics=${product.topic}`);
    expect(res.status).toBe(101);
    const ws = res.webSocket as WebSocket;
    // Not accepted yet: nothing is read, so the Worker's side of the socket queues everything it sends.
    const published = await publishUntilDropped(product.topic, product.id, variant);
    ws.accept();
    const live = new LiveSocket(ws);
    const messages = await live.untilError();
    expect(messages[0]).toMatchObject({ type: 'subscribed', seq: 0 });
    expect(messages.at(-1)).toStrictEqual({
      v: 1,
      type: 'error',
      code: 'slow_consumer',
      message: 'Messages were not read fast enough; reconnect with your last seqs.',
    });
    const events = messages.slice(1, -1);
    expect(events.map((m) => ('seq' in m ? m.seq : null))).toStrictEqual(events.map((_, i) => i + 1));
    expect(events.length).toBeLessThan(published);
    expect(events.length * 1700).toBeGreaterThan(LIVE_LIMITS.maxBacklogBytes * 0.9);
    const closed = await live.waitClosed();
    expect(closed.code).toBe(LIVE_CLOSE_CODES.slowConsumer);
  });

  it('ends the SSE stream of a client that does not read, after an error event', async () => {
    const product = await liveProduct();
    const [variant] = product.variants.map((v) => v.id) as [string];
    const res = await openStream(`?topics=${product.topic}`);
    expect(res.status).toBe(200);
    await publishUntilDropped(product.topic, product.id, variant);
    const events = await new LiveStream(res).ended();
    expect(events[0]?.message).toMatchObject({ type: 'subscribed' });
    expect(events.at(-1)).toStrictEqual({
      id: undefined,
      message: {
        v: 1,
        type: 'error',
        code: 'slow_consumer',
        message: 'Messages were not read fast enough; reconnect with your last seqs.',
      },
    });
  });
});
