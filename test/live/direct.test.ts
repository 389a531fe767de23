/**
 * GET /v1/live/channel: a client's WebSocket handed to its one topic's LiveChannel after the Worker checked
 * access, so events reach it with no live session in between. The same protocol as /v1/live for what it can do
 * (events, replay, ping, unsubscribe, limits, expiry through hibernation), an error for what it cannot
 * (`single_topic`), and every refusal before the upgrade as problem+json.
 */
import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeAll, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import type { LiveChannel, SubscriberAttachment } from '../../src/durable-objects/live-channel';
import { CHANNEL_PING } from '../../src/lib/live-channel-contract';
import { LIVE_CLOSE_CODES, LIVE_LIMITS, type Topic } from '../../src/lib/live-messages';
import { admin, ensureCurrencySold } from '../helpers/admin-fixtures';
import { insertProductRow } from '../helpers/catalog-fixtures';
import { registerCustomer } from '../helpers/customers';
import { bearer, call, expectProblem, jsonInit } from '../helpers/http';
import { insertAuthorizedOrder, insertOrder } from '../helpers/order-fixtures';
import {
  AT,
  attachmentsOf,
  autoResponsesOf,
  BOUNDED_POLL,
  channelOf,
  connect,
  inStockEvent,
  LiveSocket,
  liveProduct,
  publish,
  publishUntilDropped,
  stockDraft,
  upgrade,
} from './helpers';

const PATH = '/v1/live/channel';

const direct = (query: string) => connect(query, {}, PATH);

async function ticketFor(topics: Topic[], headers: Record<string, string>): Promise<string> {
  const res = await call('/v1/live/tickets', jsonInit('POST', { topics }, headers));
  expect(res.status).toBe(200);
  return ((await res.json()) as { ticket: string }).ticket;
}

beforeAll(async () => {
  await ensureCurrencySold('USD');
});

let log: MockInstance<typeof console.log>;
beforeEach(() => {
  log = vi.spyOn(console, 'log');
});
afterEach(() => {
  log.mockRestore();
});

/** The JSON lines written to console.log so far. */
const logLines = (spy: MockInstance<typeof console.log>) =>
  spy.mock.calls
    .map(([line]) => String(line))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

/** The end-of-connection lines written so far for `topic` (a previous test's connections may end late). */
const endLines = (spy: MockInstance<typeof console.log>, topic: Topic) =>
  logLines(spy).filter((line) => line.msg === 'live session ended' && line.topic === topic);

describe('GET /v1/live/channel', () => {
  it('follows one product straight from its channel: a staff stock change arrives as on /v1/live', async () => {
    const product = await liveProduct();
    const [variant] = product.variants;
    const live = await direct(`?topic=${product.topic}`);
    expect(await live.next()).toStrictEqual({ v: 1, type: 'subscribed', topic: product.topic, seq: 0 });
    // The client's socket is the channel's own: no session socket stands between them.
    expect(await attachmentsOf(product.topic)).toStrictEqual([
      {
        topic: product.topic,
        transport: 'direct',
        subscribedAt: expect.any(Number),
        until: null,
        public: true,
        opened: { requestId: expect.any(String), holder: null },
      },
    ]);

    const res = await admin('PUT', `/inventory/${variant?.id}`, { on_hand: 7, reason: 'counted' });
    expect(res.status).toBe(200);
    expect(await live.next()).toStrictEqual(
      inStockEvent(product.topic, product.id, variant?.id as string, 1, 7),
    );
    await live.close();
  });

  it('sends a new subscriber the retained state, and a returning one what it missed after after_seq', async () => {
    const product = await liveProduct();
    const [a, b] = product.variants.map((v) => v.id) as [string, string];
    const first = await direct(`?topic=${product.topic}`);
    await first.next();
    for (const [variant, available] of [
      [a, 5],
      [b, 6],
      [a, 4],
    ] as const) {
      await publish(product.topic, stockDraft(product.id, variant, available));
    }
    expect((await first.take(3)).map((m) => ('seq' in m ? m.seq : null))).toStrictEqual([1, 2, 3]);
    await first.close();

    const fresh = await direct(`?topic=${product.topic}`);
    expect(await fresh.take(3)).toMatchObject([
      { type: 'subscribed', seq: 3 },
      { type: 'stock', seq: 2, data: { variant_id: b, available: 6 } },
      { type: 'stock', seq: 3, data: { variant_id: a, available: 4 } },
    ]);
    const returning = await direct(`?topic=${product.topic}&after_seq=1`);
    expect(await returning.take(3)).toMatchObject([
      { type: 'subscribed', seq: 3 },
      { type: 'stock', seq: 2 },
      { type: 'stock', seq: 3 },
    ]);
    const ahead = await direct(`?topic=${product.topic}&after_seq=9`);
    expect(await ahead.take(2)).toStrictEqual([
      { v: 1, type: 'subscribed', topic: product.topic, seq: 3 },
      { v: 1, type: 'resync', topic: product.topic, seq: 3 },
    ]);
    await Promise.all([fresh.close(), returning.close(), ahead.close()]);
  });

  it('answers pings (the plain one from the runtime, without waking the channel)', async () => {
    const product = await liveProduct();
    const live = await direct(`?topic=${product.topic}`);
    await live.next();
    expect(await autoResponsesOf(product.topic)).toStrictEqual([null]);
    await evictDurableObject(channelOf(product.topic));
    live.send(CHANNEL_PING);
    expect(await live.next()).toStrictEqual({ v: 1, type: 'pong' });
    expect(await autoResponsesOf(product.topic)).toStrictEqual([expect.any(Date)]);
    live.send({ v: 1, type: 'ping' });
    expect(await live.next()).toStrictEqual({ v: 1, type: 'pong' });
    await live.close();
  });

  it('answers what a one-topic socket cannot do, and every malformed message, with an error; stays open', async () => {
    const product = await liveProduct();
    const other = await liveProduct();
    const live = await direct(`?topic=${product.topic}`);
    await live.next();
    const cases: [unknown, Record<string, unknown>][] = [
      [
        { type: 'subscribe', topic: other.topic },
        {
          code: 'single_topic',
          message: 'This connection follows one topic; open /v1/live to follow several over one connection.',
          topic: other.topic,
        },
      ],
      [
        { type: 'subscribe', topic: product.topic },
        {
          code: 'already_subscribed',
          message: 'This connection already follows the topic.',
          topic: product.topic,
        },
      ],
      [
        { type: 'unsubscribe', topic: other.topic },
        { code: 'not_subscribed', message: 'This connection does not follow the topic.', topic: other.topic },
      ],
      ['not json', { code: 'invalid_message', message: 'Not JSON.' }],
      [
        new Uint8Array([1, 2, 3]),
        { code: 'invalid_message', message: 'Send JSON text messages, not binary ones.' },
      ],
      [{ type: 'shout' }, { code: 'invalid_message', message: expect.stringMatching(/^type: /) }],
      [
        { type: 'ping', v: 2 },
        { code: 'invalid_message', message: expect.stringMatching(/^v: /) },
      ],
      [
        'x'.repeat(LIVE_LIMITS.maxClientMessageBytes + 1),
        {
          code: 'message_too_large',
          message: `Messages are at most ${LIVE_LIMITS.maxClientMessageBytes} bytes.`,
        },
      ],
    ];
    for (const [sent, error] of cases) {
      live.send(sent);
      expect(await live.next()).toStrictEqual({ v: 1, type: 'error', ...error });
    }
    await publish(product.topic, stockDraft(product.id, product.variants[0]?.id as string, 2));
    expect(await live.next()).toMatchObject({ type: 'stock', seq: 1 });

    // Unsubscribing from its topic ends the connection.
    live.send({ type: 'unsubscribe', topic: product.topic });
    expect(await live.next()).toStrictEqual({
      v: 1,
      type: 'unsubscribed',
      topic: product.topic,
      reason: 'requested',
    });
    const closed = await live.waitClosed();
    expect([closed.code, closed.reason]).toStrictEqual([1000, 'unsubscribed']);
    expect(await attachmentsOf(product.topic)).toStrictEqual([]);
  });

  it('refuses messages over the budget with an error, then closes with 1008', async () => {
    const product = await liveProduct();
    const live = await direct(`?topic=${product.topic}`);
    await live.next();
    // Spelled with `v`, so each one reaches the object (the plain ping is the runtime's, and free).
    for (let i = 0; i < 10 * LIVE_LIMITS.messageBurst; i++) live.send({ v: 1, type: 'ping' });
    const received: string[] = [];
    const end = live.waitClosed().then(() => null);
    for (
      let next = await Promise.race([live.next(), end]);
      next;
      next = await Promise.race([live.next(), end])
    ) {
      received.push(next.type === 'error' ? next.code : next.type);
    }
    const closed = await live.waitClosed();
    expect([closed.code, closed.reason]).toStrictEqual([
      LIVE_CLOSE_CODES.policyViolation,
      'rate limit exceeded',
    ]);
    expect(received.filter((type) => type === 'pong').length).toBeGreaterThanOrEqual(
      LIVE_LIMITS.messageBurst,
    );
    expect(received.slice(-LIVE_LIMITS.maxRefusedInARow)).toStrictEqual(
      Array.from({ length: LIVE_LIMITS.maxRefusedInARow }, () => 'rate_limited'),
    );
    expect(new Set(received)).toStrictEqual(new Set(['pong', 'rate_limited']));
  });

  it('drops a client that does not read, with an error and close code 4008', async () => {
    const product = await liveProduct();
    const [variant] = product.variants.map((v) => v.id) as [string];
    const res = await upgrade(`?topic=${product.topic}`, {}, PATH);
    expect(res.status).toBe(101);
    const ws = res.webSocket as WebSocket;
    // Not accepted yet: nothing is read, so what the channel sends queues on its socket.
    const published = await publishUntilDropped(product.topic, product.id, variant);
    ws.accept();
    const live = new LiveSocket(ws);
    const messages = await live.untilError();
    expect(messages[0]).toMatchObject({ type: 'subscribed', seq: 0 });
    expect(messages.at(-1)).toStrictEqual({
      v: 1,
      type: 'error',
      code: 'slow_consumer',
      message: 'Messages were not read fast enough; reconnect with your last seq.',
    });
    expect(messages.length - 2).toBeLessThan(published);
    const closed = await live.waitClosed();
    expect(closed.code).toBe(LIVE_CLOSE_CODES.slowConsumer);
  });
});

describe('access to GET /v1/live/channel', () => {
  it('opens an order topic to its owner’s ticket, ends it when the grant does, even across hibernation', async () => {
    const owner = await registerCustomer();
    const placed = await insertAuthorizedOrder({ customerId: owner.id });
    const topic = `order:${placed.order.id}` as Topic;

    await expectProblem(await upgrade(`?topic=${topic}`, {}, PATH), 403, 'forbidden', [
      {
        pointer: '/query/topic',
        message: 'This topic needs a ticket that names it (POST /v1/live/tickets).',
      },
    ]);
    const stranger = await registerCustomer();
    const other = await insertOrder({ customerId: stranger.id });
    const strangersTicket = await ticketFor(
      [`order:${other.order.id}`],
      bearer(stranger.tokens.access_token),
    );
    await expectProblem(
      await upgrade(`?topic=${topic}&ticket=${strangersTicket}`, {}, PATH),
      403,
      'forbidden',
      [
        {
          pointer: '/query/topic',
          message: 'This topic needs a ticket that names it (POST /v1/live/tickets).',
        },
      ],
    );

    const ticket = await ticketFor([topic], bearer(owner.tokens.access_token));
    const live = await direct(`?topic=${topic}&ticket=${ticket}`);
    expect(await live.next()).toStrictEqual({ v: 1, type: 'subscribed', topic, seq: 0 });
    const shipment = { carrier: 'DHL', tracking_number: '00340434161094042557' };
    expect((await admin('POST', `/orders/${placed.order.id}/fulfillments`, shipment)).status).toBe(201);
    expect(await live.next()).toStrictEqual({
      v: 1,
      type: 'order_status',
      topic,
      seq: 1,
      at: AT,
      data: { order_id: placed.order.id, number: placed.order.number, status: 'fulfilled' },
    });

    // The grant runs out while the channel sleeps: its attachment says so.
    await evictDurableObject(channelOf(topic));
    await runInDurableObject(channelOf(topic), (_: LiveChannel, state: DurableObjectState) => {
      for (const ws of state.getWebSockets()) {
        const attachment = ws.deserializeAttachment() as SubscriberAttachment;
        expect(attachment).toStrictEqual({
          topic,
          transport: 'direct',
          subscribedAt: expect.any(Number),
          until: expect.any(Number),
          public: false,
          opened: { requestId: expect.any(String), holder: `customer:${owner.id}` },
        });
        ws.serializeAttachment({ ...attachment, until: Date.now() - 1 });
      }
    });
    await evictDurableObject(channelOf(topic));
    expect((await admin('POST', `/orders/${placed.order.id}/deliver`)).status).toBe(200);
    expect(await live.next()).toStrictEqual({ v: 1, type: 'unsubscribed', topic, reason: 'expired' });
    const closed = await live.waitClosed();
    expect([closed.code, closed.reason]).toStrictEqual([LIVE_CLOSE_CODES.expired, 'subscription expired']);
    await vi.waitFor(
      () =>
        expect(endLines(log, topic)).toStrictEqual([
          expect.objectContaining({ ticket_holder: `customer:${owner.id}`, reason: 'expired' }),
        ]),
      BOUNDED_POLL,
    );
  });

  it('answers the client’s close, and writes one line joined to the request that opened it', async () => {
    const product = await liveProduct();
    const live = await connect(`?topic=${product.topic}`, { 'X-Request-Id': 'direct-ends-0001' }, PATH);
    expect(await live.next()).toStrictEqual({ v: 1, type: 'subscribed', topic: product.topic, seq: 0 });
    const [request] = logLines(log).filter((line) => line.client_request_id === 'direct-ends-0001');
    expect(request).toMatchObject({ msg: 'request', path: PATH, status: 101 });
    // The channel answers the Close frame (the runtime does not for a hibernatable socket): a clean close.
    live.ws.close(1000, 'done');
    const closed = await live.waitClosed();
    expect([closed.code, closed.wasClean]).toStrictEqual([1000, true]);
    await vi.waitFor(
      () =>
        expect(endLines(log, product.topic)).toStrictEqual([
          {
            level: 'info',
            msg: 'live session ended',
            time: AT,
            request_id: request?.request_id,
            transport: 'direct',
            topic: product.topic,
            ticket_holder: null,
            reason: 'client_closed',
            duration_ms: expect.any(Number),
          },
        ]),
      BOUNDED_POLL,
    );
  });

  it('answers a close without a status code (a browser’s plain close()) cleanly too', async () => {
    const product = await liveProduct();
    const live = await direct(`?topic=${product.topic}`);
    expect(await live.next()).toMatchObject({ type: 'subscribed' });
    // A Close frame with no code, which the channel reads as 1005: a code no Close frame may carry back.
    live.ws.close();
    const closed = await live.waitClosed();
    expect([closed.code, closed.wasClean]).toStrictEqual([1005, true]);
    expect(await attachmentsOf(product.topic)).toStrictEqual([]);
  });

  it('refuses before the upgrade: no upgrade, a bad topic, a bad ticket, a product not on sale', async () => {
    const product = await liveProduct();
    const plain = await call(`${PATH}?topic=${product.topic}`);
    await expectProblem(plain, 426, 'upgrade_required');
    expect(plain.headers.get('Upgrade')).toBe('websocket');

    await expectProblem(await upgrade('', {}, PATH), 422, 'validation_failed', [
      { pointer: '/query/topic', message: expect.any(String) },
    ]);
    await expectProblem(await upgrade('?topic=product:nope', {}, PATH), 422, 'validation_failed', [
      { pointer: '/query/topic', message: expect.stringMatching(/^Not a topic/) },
    ]);
    // An empty or non-decimal after_seq is refused, not read as 0 (a replay from the start).
    for (const afterSeq of ['-1', '', '0x1', '1e1']) {
      await expectProblem(
        await upgrade(`?topic=${product.topic}&after_seq=${afterSeq}`, {}, PATH),
        422,
        'validation_failed',
        [{ pointer: '/query/after_seq', message: expect.any(String) }],
      );
    }
    await expectProblem(
      await upgrade(`?topic=${product.topic}&ticket=not.a.ticket`, {}, PATH),
      401,
      'invalid_ticket',
    );

    const draft = await insertProductRow({ status: 'draft', variants: [{ prices: { USD: 1000 } }] });
    await expectProblem(await upgrade(`?topic=product:${draft.id}`, {}, PATH), 404, 'topic_not_found', [
      { pointer: '/query/topic', message: expect.any(String) },
    ]);
    // Nothing was subscribed by any refusal.
    expect(await attachmentsOf(product.topic)).toStrictEqual([]);
    expect(await attachmentsOf(`product:${draft.id}`)).toStrictEqual([]);
  });
});
