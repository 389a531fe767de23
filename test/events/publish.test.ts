/**
 * From a commit to the queue: every state change writes its events in its own batch and they are sent to the
 * queue after the response; no event exists without its change, and an event whose publish failed is swept later.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/app';
import { products } from '../../src/db/schema';
import { type Caller, systemCaller } from '../../src/lib/caller';
import { commit } from '../../src/lib/commit';
import { createDb } from '../../src/lib/db';
import type { DomainEvent } from '../../src/lib/event-catalog';
import { newId } from '../../src/lib/ids';
import { envelopeOf, type OutboxRow } from '../../src/lib/outbox';
import {
  admin,
  adminKey,
  createCategory,
  createCollection,
  createProduct,
  createRegion,
} from '../helpers/admin-fixtures';
import { seedRegions } from '../helpers/catalog-fixtures';
import { mailTo, PASSWORD, registerCustomer, withAuth } from '../helpers/customers';
import { eventually, mailSentAfter, outboxRowsOf, sweep } from '../helpers/events';
import { bearer, call, jsonInit, post, randomIp } from '../helpers/http';
import { unique, uniqueEmail } from '../helpers/unique';

const db = createDb(env.DB);

beforeAll(seedRegions);
afterEach(() => vi.restoreAllMocks());

const requestIdOf = (res: Response) => res.headers.get('X-Request-Id');

/** The request's events once the background publish has stamped them all. */
function publishedEventsOf(res: Response): Promise<OutboxRow[]> {
  return eventually(
    `the events of ${requestIdOf(res)} to be published`,
    () => outboxRowsOf(requestIdOf(res)),
    (rows) => rows.length > 0 && rows.every((row) => row.publishedAt !== null),
  );
}

/** Every envelope the worker handed to the event queue since the spy was set. */
function sentEnvelopes(sendBatch: { mock: { calls: Parameters<Queue['sendBatch']>[] } }) {
  return sendBatch.mock.calls.flatMap(([messages]) => [...messages].map((m) => m.body));
}

describe('every state change publishes its events', () => {
  it('a write writes its outbox rows in its batch and sends them to the queue after the response', async () => {
    const sendBatch = vi.spyOn(env.EVENTS, 'sendBatch');
    const region = await createRegion();
    const product = await createProduct();
    const variant = product.variants[0]?.id as string;
    const category = await createCategory();
    const collection = await createCollection();
    const who = await registerCustomer();
    const key = await adminKey();

    const writes: [string, () => Promise<Response>, string[]][] = [
      ['create a region', () => admin('POST', '/regions', regionBody()), ['region.created']],
      [
        'change a region',
        () => admin('PATCH', `/regions/${region.id}`, { name: 'Renamed' }),
        ['region.updated'],
      ],
      ['create a product', () => admin('POST', '/products', productBody()), ['product.created']],
      [
        'change a product',
        () => admin('PATCH', `/products/${product.id}`, { status: 'active' }),
        ['product.updated'],
      ],
      ['archive a product', () => admin('POST', `/products/${product.id}/archive`), ['product.updated']],
      [
        'add a variant',
        () =>
          admin('POST', `/products/${product.id}/variants`, {
            sku: unique('SKU'),
            title: 'L',
            options: { Size: 'L' },
            prices: [{ currency: 'EUR', amount: 2999 }],
          }),
        ['product.updated'],
      ],
      [
        'change a variant',
        () => admin('PATCH', `/variants/${variant}`, { title: 'Medium' }),
        ['product.updated'],
      ],
      [
        'set prices',
        () => admin('PUT', `/variants/${variant}/prices`, { prices: [{ currency: 'EUR', amount: 1899 }] }),
        ['product.updated'],
      ],
      ['create a category', () => admin('POST', '/categories', categoryBody()), ['category.created']],
      [
        'change a category',
        () => admin('PATCH', `/categories/${category.id}`, { handle: unique('category') }),
        ['category.updated'],
      ],
      ['delete a category', () => admin('DELETE', `/categories/${category.id}`), ['category.deleted']],
      ['create a collection', () => admin('POST', '/collections', collectionBody()), ['collection.created']],
      [
        'change a collection',
        () => admin('PATCH', `/collections/${collection.id}`, { handle: unique('collection') }),
        ['collection.updated'],
      ],
      ['delete a collection', () => admin('DELETE', `/collections/${collection.id}`), ['collection.deleted']],
      ['delete a variant', () => admin('DELETE', `/variants/${variant}`), ['product.updated']],
      ['delete a product', () => admin('DELETE', `/products/${product.id}`), ['product.deleted']],
      ['delete a region', () => admin('DELETE', `/regions/${region.id}`), ['region.deleted']],
      [
        'sign up',
        () => post('/v1/auth/customers/register', { email: uniqueEmail(), password: PASSWORD }),
        ['customer.created', 'customer.email_verification_requested'],
      ],
      [
        'ask for a password reset',
        () => post('/v1/auth/customers/password-reset/request', { email: who.email }),
        ['password_reset.requested'],
      ],
      [
        'invite staff',
        () =>
          call(
            '/v1/admin/staff/invites',
            jsonInit('POST', { email: uniqueEmail('staff'), role: 'support' }, bearer(key)),
          ),
        ['staff_invite.created'],
      ],
      [
        'erase an account',
        () => call('/v1/store/customers/me', withAuth(who, 'DELETE', { password: PASSWORD })),
        ['customer.deleted'],
      ],
    ];

    for (const [what, write, types] of writes) {
      const res = await write();
      expect(res.status, what).toBeLessThan(300);
      const rows = await publishedEventsOf(res);
      expect(
        rows.map((row) => row.type),
        what,
      ).toStrictEqual(types);
      // What the queue received is exactly what the outbox holds.
      const sent = sentEnvelopes(sendBatch);
      for (const row of rows) expect(sent, what).toContainEqual(envelopeOf(row));
    }
  });

  it('publishes a conditional change only when it changed a row', async () => {
    const published: OutboxRow[][] = [];
    const caller: Caller = {
      ...systemCaller('test', unique('run')),
      publisher: { publish: (rows) => void published.push(rows) },
    };
    const id = newId('prod');
    const deleteProduct = () =>
      commit(db, caller, {
        statements: [db.delete(products).where(eq(products.id, id)).returning({ id: products.id })],
        conditional: true,
        events: [{ type: 'product.deleted', aggregateType: 'product', aggregateId: id, payload: { id } }],
      });
    await db.insert(products).values({ id, handle: unique('gone') });
    await deleteProduct();
    await deleteProduct();
    // The second delete found the row gone: no event was written, so none was handed to the publisher.
    expect(published.map((rows) => rows.map((row) => [row.type, row.aggregateId]))).toStrictEqual([
      [['product.deleted', id]],
    ]);
  });
});

describe('no event without its change', () => {
  it('a batch that fails writes no event and publishes nothing', async () => {
    const published: OutboxRow[][] = [];
    const runId = unique('run');
    const caller: Caller = {
      ...systemCaller('test', runId),
      publisher: { publish: (rows) => void published.push(rows) },
    };
    const taken = unique('taken');
    await db.insert(products).values({ id: newId('prod'), handle: taken });
    const id = newId('prod');
    await expect(
      commit(db, caller, {
        statements: [db.insert(products).values({ id, handle: taken })],
        events: [{ type: 'product.created', aggregateType: 'product', aggregateId: id, payload: { id } }],
      }),
    ).rejects.toThrow();
    expect(await outboxRowsOf(runId)).toStrictEqual([]);
    expect(published).toStrictEqual([]);
  });

  it('refuses an event the catalog does not accept before writing anything', async () => {
    const runId = unique('run');
    const id = newId('prod');
    const write = (event: unknown) =>
      commit(db, systemCaller('test', runId), {
        statements: [db.insert(products).values({ id, handle: unique('refused') })],
        events: [event as DomainEvent],
      });
    await expect(
      write({
        type: 'product.created',
        aggregateType: 'product',
        aggregateId: id,
        payload: { id, extra: 1 },
      }),
    ).rejects.toThrow('event product.created v1 payload is invalid at /: Unrecognized key: "extra"');
    await expect(
      write({ type: 'product.created', aggregateType: 'order', aggregateId: id, payload: { id } }),
    ).rejects.toThrow('event product.created belongs to aggregate product, not order');
    await expect(
      write({ type: 'product.renamed', aggregateType: 'product', aggregateId: id, payload: { id } }),
    ).rejects.toThrow('event type product.renamed is not in the event catalog');
    expect(await db.select().from(products).where(eq(products.id, id))).toStrictEqual([]);
    expect(await outboxRowsOf(runId)).toStrictEqual([]);
  });
});

describe('no change without its event', () => {
  it('a publish that fails neither delays nor fails the response; the sweep sends the event later', async () => {
    const sendBatch = vi.spyOn(env.EVENTS, 'sendBatch').mockRejectedValueOnce(new Error('queue unavailable'));
    const warnings = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const email = uniqueEmail();
    const ctx = createExecutionContext();
    const res = await createApp().request(
      '/v1/auth/customers/register',
      jsonInit('POST', { email, password: PASSWORD }, { 'CF-Connecting-IP': randomIp() }),
      env,
      ctx,
    );
    expect(res.status).toBe(201);
    // The background publish has run (and failed): the events wait in the outbox, and nothing was mailed.
    await waitOnExecutionContext(ctx);
    expect(sendBatch).toHaveBeenCalledTimes(1);
    const waiting = await outboxRowsOf(requestIdOf(res));
    expect(waiting.map((row) => [row.type, row.publishedAt])).toStrictEqual([
      ['customer.created', null],
      ['customer.email_verification_requested', null],
    ]);
    expect(warnings.mock.calls.map(([line]) => JSON.parse(String(line)))).toContainEqual(
      expect.objectContaining({
        msg: 'events not published; the outbox sweep will send them',
        events: 2,
        reason: 'queue unavailable',
        request_id: requestIdOf(res),
      }),
    );
    expect(await mailTo(email)).toStrictEqual([]);

    // Past the sweep's grace period (the rows are moved back in time), the sweep sends them and the mail leaves.
    await env.DB.prepare('UPDATE outbox_events SET occurred_at = occurred_at - 60000 WHERE request_id = ?')
      .bind(requestIdOf(res))
      .run();
    await sweep();
    expect((await outboxRowsOf(requestIdOf(res))).every((row) => row.publishedAt !== null)).toBe(true);
    await mailSentAfter(res);
    expect(await mailTo(email)).toStrictEqual([expect.stringContaining('Confirm your email address')]);
  });

  it('a write with no publisher (a job, a script) leaves its events to the sweep', async () => {
    const runId = unique('run');
    const id = newId('prod');
    await commit(db, systemCaller('importer', runId), {
      statements: [db.insert(products).values({ id, handle: unique('imported') })],
      events: [{ type: 'product.created', aggregateType: 'product', aggregateId: id, payload: { id } }],
    });
    const [row] = await outboxRowsOf(runId);
    expect(row).toMatchObject({ type: 'product.created', publishedAt: null, traceparent: null });
  });
});

describe('trace context', () => {
  const incoming = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

  it('continues the caller’s trace: the event carries its trace id with our own span', async () => {
    const res = await admin('POST', '/products', productBody(), { headers: { traceparent: incoming } });
    expect(res.status).toBe(201);
    const [row] = await outboxRowsOf(requestIdOf(res));
    expect(row?.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    expect(row?.traceparent).not.toBe(incoming);
    expect(envelopeOf(row as OutboxRow).traceparent).toBe(row?.traceparent);
  });

  it('starts a trace named after the request id when none (or an invalid one) comes in', async () => {
    for (const header of [undefined, '00-00000000000000000000000000000000-b7ad6b7169203331-01', 'garbage']) {
      const res = await admin('POST', '/products', productBody(), {
        headers: header === undefined ? {} : { traceparent: header },
      });
      const [row] = await outboxRowsOf(requestIdOf(res));
      const traceId = requestIdOf(res)?.replaceAll('-', '');
      expect(row?.traceparent, header).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    }
  });
});

const regionBody = () => ({
  code: unique('r'),
  name: 'Events region',
  currency: 'EUR',
  tax_rate_bps: 1900,
  prices_include_tax: true,
  locales: ['en'],
  countries: [],
});
const productBody = () => ({ handle: unique('product'), translations: { en: { title: 'Evented' } } });
const categoryBody = () => ({ handle: unique('category'), translations: { en: { name: 'Evented' } } });
const collectionBody = () => ({ handle: unique('collection'), translations: { en: { title: 'Evented' } } });
