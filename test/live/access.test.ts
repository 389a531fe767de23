/**
 * Who may follow what: tickets from POST /v1/live/tickets (customer token, order token, staff token, secret key),
 * order topics for their owner only, the staff feed for staff holding orders:read, and every bad or missing
 * ticket refused, on connect (401 before the upgrade) and in a subscribe message (an error, socket open).
 */
import { env } from 'cloudflare:workers';
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { signingKeys } from '../../src/lib/jwt';
import { STAFF_FEED_TOPIC, type Topic } from '../../src/lib/live-messages';
import { GRANT_MAX_MS, TICKET_TTL_SECONDS } from '../../src/modules/live/tickets';
import { insertSecretKey } from '../helpers/admin';
import { admin, ensureCurrencySold, revokedKey } from '../helpers/admin-fixtures';
import { registerCustomer } from '../helpers/customers';
import { bearer, call, expectProblem, jsonInit } from '../helpers/http';
import { insertAuthorizedOrder, insertOrder } from '../helpers/order-fixtures';
import { signedInStaff } from '../helpers/staff';
import { AT, connect, liveProduct, openStream, upgrade } from './helpers';

function ticketRequest(topics: unknown, headers: Record<string, string> = {}) {
  return call('/v1/live/tickets', jsonInit('POST', { topics }, headers));
}

async function ticketFor(topics: Topic[], headers: Record<string, string>): Promise<string> {
  const res = await ticketRequest(topics, headers);
  expect(res.status).toBe(200);
  return ((await res.json()) as { ticket: string }).ticket;
}

/** A ticket signed with our key but otherwise as given: to show what verification refuses. */
async function craftedTicket(claims: { topics: unknown; until: number; exp: number; typ?: string }) {
  const { signer } = await signingKeys(env);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ topics: claims.topics, until: claims.until })
    .setProtectedHeader({ alg: 'EdDSA', kid: signer.kid, typ: claims.typ ?? 'live-ticket+jwt' })
    .setIssuer(env.PUBLIC_URL)
    .setAudience('edgecart:live')
    .setSubject('staff:test')
    .setIssuedAt(now - 120)
    .setExpirationTime(claims.exp)
    .sign(signer.key);
}

let staffFeedKey: string;

beforeAll(async () => {
  await ensureCurrencySold('USD');
  staffFeedKey = (await insertSecretKey(['orders:read'])).key;
});

describe('POST /v1/live/tickets', () => {
  it('issues a ticket for the staff feed to staff holding orders:read, ending with their token', async () => {
    const { tokens } = await signedInStaff('support');
    const before = Date.now();
    const res = await ticketRequest([STAFF_FEED_TOPIC], bearer(tokens.access_token));
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const body = (await res.json()) as Record<string, string>;
    expect(body).toStrictEqual({
      ticket: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      topics: [STAFF_FEED_TOPIC],
      expires_at: AT,
      subscriptions_end_at: AT,
    });
    const expiresAt = Date.parse(body.expires_at as string);
    expect(expiresAt).toBeGreaterThan(before);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + TICKET_TTL_SECONDS * 1000);
    // The access token lives 15 minutes: the subscriptions end when it does, not later.
    const end = Date.parse(body.subscriptions_end_at as string);
    expect(end).toBeGreaterThan(before + 14 * 60_000);
    expect(end).toBeLessThanOrEqual(Date.now() + 15 * 60_000);
  });

  it('gives a secret key’s subscriptions at most an hour', async () => {
    const before = Date.now();
    const res = await ticketRequest([STAFF_FEED_TOPIC], bearer(staffFeedKey));
    expect(res.status).toBe(200);
    const end = Date.parse(((await res.json()) as { subscriptions_end_at: string }).subscriptions_end_at);
    expect(end).toBeGreaterThanOrEqual(before + GRANT_MAX_MS - 1000);
    expect(end).toBeLessThanOrEqual(Date.now() + GRANT_MAX_MS);
  });

  it('issues a ticket for public topics without credentials', async () => {
    const product = await liveProduct();
    const res = await ticketRequest([product.topic]);
    expect(res.status).toBe(200);
  });

  it('refuses the staff feed without credentials (401) and to those without orders:read (403)', async () => {
    await expectProblem(await ticketRequest([STAFF_FEED_TOPIC]), 401, 'unauthenticated');
    const customer = await registerCustomer();
    const catalogKey = (await insertSecretKey(['catalog:read'])).key;
    const product = await liveProduct();
    for (const credential of [customer.tokens.access_token, catalogKey]) {
      await expectProblem(
        await ticketRequest([product.topic, STAFF_FEED_TOPIC], bearer(credential)),
        403,
        'topic_forbidden',
        [{ pointer: '/body/topics/1', message: 'Not permitted' }],
      );
    }
  });

  it('refuses credentials that prove nothing as their own guards do', async () => {
    await expectProblem(
      await ticketRequest([STAFF_FEED_TOPIC], bearer(await revokedKey())),
      401,
      'invalid_credentials',
    );
    await expectProblem(await ticketRequest([STAFF_FEED_TOPIC], bearer('not-a-jwt')), 401, 'invalid_token');
    await expectProblem(
      await ticketRequest([STAFF_FEED_TOPIC], { Authorization: 'Basic abc' }),
      401,
      'unauthenticated',
    );
  });

  it('validates the topics', async () => {
    const product = await liveProduct();
    await expectProblem(await ticketRequest([]), 422, 'validation_failed', [
      { pointer: '/body/topics', message: expect.any(String) },
    ]);
    await expectProblem(await ticketRequest(['product:x']), 422, 'validation_failed', [
      { pointer: '/body/topics/0', message: expect.stringMatching(/^Not a topic/) },
    ]);
    await expectProblem(await ticketRequest([product.topic, product.topic]), 422, 'validation_failed', [
      { pointer: '/body/topics', message: 'Each topic once' },
    ]);
    await expectProblem(
      await ticketRequest(Array.from({ length: 21 }, () => product.topic)),
      422,
      'validation_failed',
      [{ pointer: '/body/topics', message: 'Too big: expected array to have <=20 items' }],
    );
  });
});

describe('order topics', () => {
  it('open to the customer who placed the order, who sees its transitions; nobody else', async () => {
    const owner = await registerCustomer();
    const other = await registerCustomer();
    const placed = await insertAuthorizedOrder({ customerId: owner.id });
    const topic = `order:${placed.order.id}` as Topic;

    await expectProblem(
      await ticketRequest([topic], bearer(other.tokens.access_token)),
      403,
      'topic_forbidden',
      [{ pointer: '/body/topics/0', message: 'Not permitted' }],
    );
    await expectProblem(
      await ticketRequest([topic], { 'X-Order-Token': 'ot_guess' }),
      403,
      'topic_forbidden',
      [{ pointer: '/body/topics/0', message: 'Not permitted' }],
    );

    const ticket = await ticketFor([topic], bearer(owner.tokens.access_token));
    const live = await connect(`?ticket=${ticket}`);
    expect(await live.subscribe(topic)).toStrictEqual({ v: 1, type: 'subscribed', topic, seq: 0 });

    const shipment = { carrier: 'DHL', tracking_number: '00340434161094042557' };
    expect((await admin('POST', `/orders/${placed.order.id}/fulfillments`, shipment)).status).toBe(201);
    expect(await live.next()).toStrictEqual({
      v: 1,
      type: 'order_status',
      topic,
      seq: 1,
      at: AT,
      data: {
        order_id: placed.order.id,
        number: placed.order.number,
        status: 'fulfilled',
      },
    });
    expect((await admin('POST', `/orders/${placed.order.id}/deliver`)).status).toBe(200);
    expect(await live.next()).toMatchObject({
      type: 'order_status',
      seq: 2,
      data: { status: 'delivered' },
    });

    // Without a ticket naming it, the same topic is refused on another connection.
    const stranger = await connect();
    expect(await stranger.subscribe(topic)).toStrictEqual({
      v: 1,
      type: 'error',
      code: 'forbidden',
      message: 'This topic needs a ticket that names it (POST /v1/live/tickets).',
      topic,
    });
    await Promise.all([live.close(), stranger.close()]);
  });

  it('open to a guest holding the order token, with the ticket in the subscribe message', async () => {
    const placed = await insertOrder();
    const topic = `order:${placed.order.id}` as Topic;
    const ticket = await ticketFor([topic], { 'X-Order-Token': placed.token as string });
    const live = await connect();
    expect(await live.subscribe(topic, { ticket })).toStrictEqual({
      v: 1,
      type: 'subscribed',
      topic,
      seq: 0,
    });
    expect((await admin('POST', `/orders/${placed.order.id}/cancel`, { reason: 'test' })).status).toBe(200);
    expect(await live.next()).toMatchObject({ type: 'order_status', seq: 1, data: { status: 'canceled' } });
    // A later subscriber starts from the status the channel keeps.
    const later = await connect(`?ticket=${ticket}&topics=${topic}`);
    expect(await later.take(2)).toMatchObject([
      { type: 'subscribed', seq: 1 },
      { type: 'order_status', seq: 1, data: { status: 'canceled' } },
    ]);
    await Promise.all([live.close(), later.close()]);
  });

  it('open to staff holding orders:read', async () => {
    const placed = await insertOrder();
    const res = await ticketRequest([`order:${placed.order.id}`, STAFF_FEED_TOPIC], bearer(staffFeedKey));
    expect(res.status).toBe(200);
  });
});

describe('tickets on connect and in messages', () => {
  it('refuses a connection with a bad ticket before the upgrade, with 401', async () => {
    const { tokens } = await signedInStaff('support');
    const now = Math.floor(Date.now() / 1000);
    const bad = [
      'garbage',
      // An access token is not a ticket.
      tokens.access_token,
      await craftedTicket({ topics: [STAFF_FEED_TOPIC], until: Date.now() + 60_000, exp: now - 1 }),
      await craftedTicket({ topics: [STAFF_FEED_TOPIC], until: Date.now() - 1, exp: now + 60 }),
      await craftedTicket({ topics: ['everything'], until: Date.now() + 60_000, exp: now + 60 }),
      await craftedTicket({
        topics: [STAFF_FEED_TOPIC],
        until: Date.now() + 60_000,
        exp: now + 60,
        typ: 'at+jwt',
      }),
    ];
    for (const ticket of bad) {
      await expectProblem(await upgrade(`?ticket=${ticket}`), 401, 'invalid_ticket');
      await expectProblem(
        await openStream(`?topics=${STAFF_FEED_TOPIC}&ticket=${ticket}`),
        401,
        'invalid_ticket',
      );
    }
    // A forged signature: the right header, another key.
    const [header, payload] = (await ticketFor([STAFF_FEED_TOPIC], bearer(staffFeedKey))).split('.');
    await expectProblem(
      await upgrade(`?ticket=${header}.${payload}.${'A'.repeat(86)}`),
      401,
      'invalid_ticket',
    );
  });

  it('answers a bad ticket or a topic it does not name in a subscribe message with an error', async () => {
    const live = await connect();
    live.send({ type: 'subscribe', topic: STAFF_FEED_TOPIC, ticket: 'garbage' });
    expect(await live.next()).toStrictEqual({
      v: 1,
      type: 'error',
      code: 'invalid_ticket',
      message: 'The live ticket is not valid: malformed. Get a new one.',
      topic: STAFF_FEED_TOPIC,
    });
    const placed = await insertOrder();
    const orderTicket = await ticketFor([`order:${placed.order.id}`], {
      'X-Order-Token': placed.token as string,
    });
    live.send({ type: 'subscribe', topic: STAFF_FEED_TOPIC, ticket: orderTicket });
    expect(await live.next()).toMatchObject({ type: 'error', code: 'forbidden', topic: STAFF_FEED_TOPIC });
    // The refused subscriptions left nothing behind: the right ticket subscribes.
    const staffTicket = await ticketFor([STAFF_FEED_TOPIC], bearer(staffFeedKey));
    expect(await live.subscribe(STAFF_FEED_TOPIC, { ticket: staffTicket })).toMatchObject({
      type: 'subscribed',
    });
    await live.close();
  });

  it('refuses at connect a topic in the URL the ticket does not name (403) or no active product has (404)', async () => {
    const placed = await insertOrder();
    await expectProblem(await upgrade(`?topics=order:${placed.order.id}`), 403, 'forbidden', [
      { pointer: '/query/topics/0', message: expect.any(String) },
    ]);
    await expectProblem(
      await upgrade('?topics=product:prod_01JD3Q6C5W9ZK2M4T8R7XPN0AB'),
      404,
      'topic_not_found',
      [{ pointer: '/query/topics/0', message: 'No active product has this id.' }],
    );
    await expectProblem(await upgrade('?topics=product:nope'), 422, 'validation_failed', [
      { pointer: '/query/topics/0', message: expect.stringMatching(/^Not a topic/) },
    ]);
  });
});
