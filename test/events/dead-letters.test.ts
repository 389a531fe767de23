/**
 * Dead letters end to end: a consumer that keeps failing (the mail API is down) sends the event through the real
 * dead-letter queue into D1, staff list and inspect it, and a replay sends it to the consumers again, which now
 * succeed.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAX_DELIVERY_ATTEMPTS } from '../../src/jobs/event-queue';
import { systemCaller } from '../../src/lib/caller';
import { requestPasswordReset } from '../../src/modules/customers/email-flows';
import { EMAIL_CONSUMER } from '../../src/modules/notifications/consumer';
import { expectNoWrites, insertSecretKey } from '../helpers/admin';
import { seedRegions } from '../helpers/catalog-fixtures';
import { registerCustomer, tokenMailed } from '../helpers/customers';
import {
  deliverBatch,
  envelopesOf,
  eventually,
  eventuallyFound,
  mailSentAfter,
  outboxRowsOf,
  processedBy,
  syntheticEnvelope,
} from '../helpers/events';
import { bearer, call, expectProblem, problemOf } from '../helpers/http';
import { unique } from '../helpers/unique';

beforeAll(seedRegions);
afterEach(() => vi.restoreAllMocks());

/** The mail API is down: every send fails at the network boundary. */
const mailDown: Env = { ...env, EMAIL_PROVIDER: 'http', EMAIL_API_URL: 'https://mail.provider.test/v1/send' };

type DeadLetter = {
  id: string;
  event_id: string | null;
  event_type: string | null;
  failures: { consumer: string | null; error: string }[];
  attempts: number;
  created_at: string;
  replay_count: number;
  last_replayed_at: string | null;
};

let key: string;
beforeAll(async () => {
  key = (await insertSecretKey(['webhooks:manage'])).key;
});

const get = (path: string, token = key) => call(`/v1/admin/events${path}`, { headers: bearer(token) });
const replay = (id: string, token = key) =>
  call(`/v1/admin/events/dead-letters/${id}/replay`, { method: 'POST', headers: bearer(token) });

/** Dead-letters `envelope` as the handler does on its last attempt, and waits until the DLQ handler stored it. */
async function deadLetter(envelope: unknown, eventId: string, failing: Env = env): Promise<string> {
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
  await deliverBatch([envelope], { env: failing, attempts: MAX_DELIVERY_ATTEMPTS });
  const row = await eventuallyFound(`the dead letter of ${eventId}`, () =>
    env.DB.prepare('SELECT id FROM dead_letters WHERE event_id = ?').bind(eventId).first<{ id: string }>(),
  );
  return row.id;
}

/** A reset request's event for a real customer, dead-lettered because the mail API was down. */
async function deadResetMail() {
  const who = await registerCustomer();
  await mailSentAfter(who.requestId);
  const runId = unique('run');
  await requestPasswordReset(env, systemCaller('test', runId), who.email);
  const [event] = envelopesOf(await outboxRowsOf(runId));
  if (!event) throw new Error('no reset event');
  const mailApi = vi
    .spyOn(globalThis, 'fetch')
    .mockImplementation(async () => new Response('unavailable', { status: 503 }));
  const id = await deadLetter(event, event.id, mailDown);
  mailApi.mockRestore();
  return { who, event, id };
}

describe('dead letters', () => {
  it('are listed and inspected with the consumer’s error, and a replay delivers the event again', async () => {
    const { who, event, id } = await deadResetMail();
    const expected: DeadLetter = {
      id,
      event_id: event.id,
      event_type: 'password_reset.requested',
      failures: [
        { consumer: EMAIL_CONSUMER, error: 'Error: email not sent by http: email API answered 503' },
      ],
      attempts: MAX_DELIVERY_ATTEMPTS,
      created_at: expect.any(String),
      replay_count: 0,
      last_replayed_at: null,
    };
    const listed = await get('/dead-letters?event_type=password_reset.requested&limit=100');
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { data: DeadLetter[] }).data).toContainEqual(expected);
    const detail = await get(`/dead-letters/${id}`);
    expect(detail.status).toBe(200);
    expect(await detail.json()).toStrictEqual({ ...expected, envelope: event });

    const replayed = await replay(id);
    expect(replayed.status).toBe(202);
    expect(await replayed.json()).toStrictEqual({
      ...expected,
      replay_count: 1,
      last_replayed_at: expect.any(String),
      envelope: event,
    });
    // Through the real queue to the email consumer, which now reaches the (dev) mail provider.
    await eventually(
      `${EMAIL_CONSUMER} to process ${event.id}`,
      () => processedBy(EMAIL_CONSUMER, event.id),
      Boolean,
    );
    expect(await tokenMailed(who.email, 'reset')).toMatch(/^[\w-]+$/);
    expect(
      await env.DB.prepare(
        'SELECT actor_type, action, target_type, changes FROM audit_log WHERE target_id = ?',
      )
        .bind(id)
        .first(),
    ).toStrictEqual({
      actor_type: 'secret_key',
      action: 'dead_letter.replay',
      target_type: 'dead_letter',
      changes: JSON.stringify({ event_id: event.id, event_type: 'password_reset.requested' }),
    });
  });

  it('pages newest first and filters by event type', async () => {
    // A type of this test's own, which no consumer can read.
    const type = 'order.misrouted';
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const event = syntheticEnvelope(type, { id: unique('ord') });
      ids.push(await deadLetter(event, event.id));
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(`/dead-letters?event_type=${type}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        data: DeadLetter[];
        page: { limit: number; next_cursor: string | null };
      };
      seen.push(...body.data.map((d) => d.id));
      cursor = body.page.next_cursor;
    } while (cursor);
    expect(seen).toStrictEqual([...ids].reverse());
  });

  it('refuses to replay an event no consumer can read, and changes nothing', async () => {
    const event = syntheticEnvelope('order.teleported', { id: 'ord_1' });
    const id = await deadLetter(event, event.id);
    const res = await expectNoWrites(() => replay(id));
    await expectProblem(res, 409, 'event_not_replayable');
    expect((await problemOf(await replay(id))).detail).toMatch(/^No consumer can read this event \(\/type: /);
  });

  it('answers an id longer than any of ours with 422, as the OpenAPI document says, writing nothing', async () => {
    const id = 'd'.repeat(65);
    const idTooLong = [{ pointer: '/path/id', message: expect.any(String) }];
    await expectProblem(await get(`/dead-letters/${id}`), 422, 'validation_failed', idTooLong);
    await expectProblem(await expectNoWrites(() => replay(id)), 422, 'validation_failed', idTooLong);
    const doc = (await (await call('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    const statuses = (path: string, method: string) =>
      Object.keys(doc.paths[path]?.[method]?.responses ?? {});
    expect(statuses('/v1/admin/events/dead-letters/{id}', 'get')).toContain('422');
    expect(statuses('/v1/admin/events/dead-letters/{id}/replay', 'post')).toContain('422');
  });

  it('answers unknown ids with 404, bad queries with 422 and other permissions with 403, writing nothing', async () => {
    await expectProblem(await get('/dead-letters/dlq_unknown'), 404, 'not_found');
    await expectProblem(await expectNoWrites(() => replay('dlq_unknown')), 404, 'not_found');
    await expectProblem(await get('/dead-letters?cursor=not-a-cursor'), 422, 'invalid_cursor', [
      { pointer: '/query/cursor', message: expect.any(String) },
    ]);
    await expectProblem(await get('/dead-letters?event_type=Not%20A%20Type'), 422, 'validation_failed', [
      { pointer: '/query/event_type', message: expect.any(String) },
    ]);
    const reader = (await insertSecretKey(['orders:read'])).key;
    const event = syntheticEnvelope('order.teleported', { id: 'ord_2' });
    const id = await deadLetter(event, event.id);
    for (const res of [
      await get('/dead-letters', reader),
      await get(`/dead-letters/${id}`, reader),
      await expectNoWrites(() => replay(id, reader)),
    ]) {
      expect(res.status).toBe(403);
      expect((await problemOf(res)).code).toBe('forbidden');
    }
  });
});
