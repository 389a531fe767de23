/**
 * A product taken off sale (unpublished to draft, archived or deleted) stops streaming to the storefront: its
 * topic's public subscribers are told `unsubscribed` `withdrawn` (a direct socket then closes with 4004) and get
 * none of its later events; staff following it with a ticket from `catalog:read` keep receiving them.
 */
import { evictDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Topic } from '../../src/lib/live-messages';
import { insertSecretKey } from '../helpers/admin';
import { admin } from '../helpers/admin-fixtures';
import { bearer, call, jsonInit } from '../helpers/http';
import {
  channelOf,
  connect,
  inStockEvent,
  type LiveSocket,
  liveProduct,
  publish,
  stockDraft,
  stream,
} from './helpers';

let catalogKey: string;

beforeAll(async () => {
  catalogKey = (await insertSecretKey(['catalog:read'])).key;
});

async function catalogTicket(topic: Topic): Promise<string> {
  const res = await call('/v1/live/tickets', jsonInit('POST', { topics: [topic] }, bearer(catalogKey)));
  expect(res.status).toBe(200);
  return ((await res.json()) as { ticket: string }).ticket;
}

/** The next message after a ping is its pong: nothing else was sent meanwhile. */
async function expectNothingThenPong(live: LiveSocket): Promise<void> {
  live.send({ type: 'ping' });
  expect(await live.next()).toStrictEqual({ v: 1, type: 'pong' });
}

const WITHDRAWALS = [
  ['unpublished to draft', (id: string) => admin('PATCH', `/products/${id}`, { status: 'draft' }), 200],
  ['archived', (id: string) => admin('POST', `/products/${id}/archive`), 200],
  ['deleted', (id: string) => admin('DELETE', `/products/${id}`), 204],
] as const;

describe.each(WITHDRAWALS)('a product %s', (_, withdraw, status) => {
  it('ends its storefront subscriptions and sends them nothing more; staff with catalog:read keep following', async () => {
    const product = await liveProduct();
    const variant = product.variants[0]?.id as string;
    const session = await connect();
    expect(await session.subscribe(product.topic)).toMatchObject({
      type: 'subscribed',
      topic: product.topic,
    });
    const direct = await connect(`?topic=${product.topic}`, {}, '/v1/live/channel');
    expect(await direct.next()).toMatchObject({ type: 'subscribed', topic: product.topic });
    const other = await liveProduct();
    const sse = await stream(`?topics=${product.topic},${other.topic}`);
    expect((await sse.take(2)).map((e) => e.message.type)).toStrictEqual(['subscribed', 'subscribed']);
    const staff = await connect(`?topics=${product.topic}&ticket=${await catalogTicket(product.topic)}`);
    expect(await staff.next()).toMatchObject({ type: 'subscribed', topic: product.topic });

    // The channel sleeps meanwhile: who is public is read back from each socket's attachment.
    await evictDurableObject(channelOf(product.topic));
    expect((await withdraw(product.id)).status).toBe(status);

    const withdrawn = { v: 1, type: 'unsubscribed', topic: product.topic, reason: 'withdrawn' };
    expect(await session.next()).toStrictEqual(withdrawn);
    expect(await direct.next()).toStrictEqual(withdrawn);
    expect((await direct.waitClosed()).code).toBe(4004);
    expect(await sse.next()).toStrictEqual({ id: undefined, message: withdrawn });

    const { seq } = await publish(product.topic, stockDraft(product.id, variant, 7));
    await publish(other.topic, stockDraft(other.id, other.variants[0]?.id as string, 2));
    await expectNothingThenPong(session);
    expect((await sse.next()).message).toMatchObject({ type: 'stock', topic: other.topic });
    expect(await staff.next()).toStrictEqual(inStockEvent(product.topic, product.id, variant, seq, 7));

    await Promise.all([session.close(), staff.close(), sse.cancel()]);
  });
});

describe('a product that is not active', () => {
  it('may be followed by staff with a catalog:read ticket, not by a ticket of anyone else', async () => {
    const product = await liveProduct();
    expect((await admin('PATCH', `/products/${product.id}`, { status: 'draft' })).status).toBe(200);
    const anyone = await call('/v1/live/tickets', jsonInit('POST', { topics: [product.topic] }));
    const anyoneTicket = ((await anyone.json()) as { ticket: string }).ticket;
    const session = await connect();
    expect(await session.subscribe(product.topic, { ticket: anyoneTicket })).toStrictEqual({
      v: 1,
      type: 'error',
      code: 'topic_not_found',
      message: 'No active product has this id.',
      topic: product.topic,
    });
    expect(
      await session.subscribe(product.topic, { ticket: await catalogTicket(product.topic) }),
    ).toMatchObject({ type: 'subscribed', topic: product.topic });
    await session.close();
  });
});
