/**
 * The whole path through the real local delivery queue and its consumer: events fanned out to the endpoints
 * subscribed to them, a test ping, a redelivery, a replay of a time range from the outbox, a retry that the
 * queue brings back, 410 disabling and re-enabling, and the sweep that re-queues a delivery whose message was
 * lost. The receiver is faked at the fetch boundary; tests wait for the consumer by polling D1 (bounded).
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { systemCaller } from '../../src/lib/caller';
import { createDb } from '../../src/lib/db';
import { newId } from '../../src/lib/ids';
import { webhooksConsumer } from '../../src/modules/webhooks/consumer';
import { fanOutEvent } from '../../src/modules/webhooks/fan-out';
import { insertSecretKey } from '../helpers/admin';
import { deliverBatch } from '../helpers/events';
import { bearer, call, expectProblem, jsonInit } from '../helpers/http';
import {
  attemptRows,
  createEndpoint,
  deliveryRow,
  envelope,
  FakeReceivers,
  insertDelivery,
  settledDeliveries,
  settledDelivery,
} from '../helpers/webhooks';

let token = '';
let receivers: FakeReceivers;
beforeAll(async () => {
  token = (await insertSecretKey(['webhooks:manage'])).key;
  // One fake internet for the whole file: the consumer runs in the background and may outlive a test.
  receivers = new FakeReceivers();
});
// Each test starts with no endpoints, so what a fan-out reaches is the test's own. Deliveries still on their way
// go with their endpoint, and their messages find nothing to do.
afterEach(async () => {
  await env.DB.prepare('DELETE FROM webhook_endpoints').run();
});

const admin = (method: string, path: string, body?: unknown) =>
  call(
    `/v1/admin${path}`,
    body === undefined ? { method, headers: bearer(token) } : jsonInit(method, body, bearer(token)),
  );

const fanOut = (event = envelope()) =>
  fanOutEvent(createDb(env.DB), env, systemCaller('event-consumer', 'run-1'), event);

describe('fanOutEvent (called by the event backbone for each event)', () => {
  it('delivers the event to each enabled endpoint subscribed to its type, signed, with the envelope as body', async () => {
    const all = await createEndpoint(token, { url: receivers.url(), events: ['*'] });
    const products = await createEndpoint(token, { url: receivers.url(), events: ['product.*'] });
    const exact = await createEndpoint(token, {
      url: receivers.url(),
      events: ['order.paid', 'product.updated'],
    });
    const orders = await createEndpoint(token, { url: receivers.url(), events: ['order.*'] });
    const off = await createEndpoint(token, { url: receivers.url(), events: ['*'], enabled: false });
    const event = envelope();

    expect(await fanOut(event)).toBe(3);

    for (const endpoint of [all, products, exact]) {
      const [delivery] = await settledDeliveries(endpoint.id, 1);
      expect(delivery).toMatchObject({
        event_id: event.id,
        origin: 'event',
        status: 'succeeded',
        attempt_count: 1,
      });
      const [received] = receivers.at(endpoint.url);
      expect(received?.body).toBe(JSON.stringify(event));
      expect(
        new Webhook(endpoint.secret).verify(received?.body ?? '', received?.headers ?? {}),
      ).toStrictEqual(event);
    }
    expect(receivers.at(orders.url)).toStrictEqual([]);
    expect(receivers.at(off.url)).toStrictEqual([]);
  });

  it('delivers an event handed over twice once per endpoint', async () => {
    const endpoint = await createEndpoint(token, { url: receivers.url(), events: ['customer.created'] });
    const event = envelope({ type: 'customer.created' });
    expect(await fanOut(event)).toBe(1);
    await settledDeliveries(endpoint.id, 1);
    expect(await fanOut(event)).toBe(0);
    expect(receivers.at(endpoint.url)).toHaveLength(1);
  });

  it('queues a delivery an earlier hand-over committed but could not queue', async () => {
    const endpoint = await createEndpoint(token, { url: receivers.url(), events: ['order.created'] });
    const event = envelope({ type: 'order.created' });
    const stranded = await insertDelivery(endpoint.id, event);

    expect(await fanOut(event)).toBe(1);

    const [delivery] = await settledDeliveries(endpoint.id, 1);
    expect(delivery?.id).toBe(stranded);
    expect(receivers.at(endpoint.url)).toHaveLength(1);
  });

  it('sends an event from the event queue as docs/WEBHOOKS.md shows it, its fields in that order', async () => {
    const endpoint = await createEndpoint(token, { url: receivers.url(), events: ['product.updated'] });
    // id, type, version, occurred_at, aggregate, traceparent, data: the order of the example and of a replay.
    const event = envelope();

    expect(await deliverBatch([event], { consumers: [webhooksConsumer] })).toMatchObject({ retried: [] });

    await settledDeliveries(endpoint.id, 1);
    expect(receivers.at(endpoint.url).map((r) => r.body)).toStrictEqual([JSON.stringify(event)]);
  });

  it('does nothing for an event no endpoint subscribes to', async () => {
    expect(await fanOut(envelope({ type: 'inventory.low_stock' }))).toBe(0);
  });
});

describe('POST /v1/admin/webhooks/{id}/test', () => {
  it('answers 202 with the queued ping, which arrives signed and shows in the delivery log', async () => {
    const endpoint = await createEndpoint(token, { url: receivers.url() });

    const res = await admin('POST', `/webhooks/${endpoint.id}/test`);

    expect(res.status).toBe(202);
    const queued = (await res.json()) as { id: string; event_id: string; created_at: string };
    expect(queued).toStrictEqual({
      id: expect.stringMatching(/^whd_[0-9A-Z]{26}$/),
      endpoint_id: endpoint.id,
      event_id: expect.stringMatching(/^evt_/),
      event_type: 'webhook.ping',
      origin: 'test',
      status: 'pending',
      attempt_count: 0,
      next_attempt_at: queued.created_at,
      created_at: expect.any(String),
      completed_at: null,
      attempts: [],
    });
    await settledDeliveries(endpoint.id, 1);
    const [received] = receivers.at(endpoint.url);
    expect(new Webhook(endpoint.secret).verify(received?.body ?? '', received?.headers ?? {})).toStrictEqual({
      id: queued.event_id,
      type: 'webhook.ping',
      version: 1,
      occurred_at: queued.created_at,
      aggregate: { type: 'webhook_endpoint', id: endpoint.id },
      traceparent: null,
      data: { endpoint_id: endpoint.id },
    });

    const log = await (await admin('GET', `/webhooks/${endpoint.id}/deliveries`)).json();
    expect(log).toStrictEqual({
      data: [
        {
          ...queued,
          status: 'succeeded',
          attempt_count: 1,
          next_attempt_at: null,
          completed_at: expect.any(String),
          attempts: [
            {
              attempt: 1,
              attempted_at: expect.any(String),
              status_code: 200,
              latency_ms: expect.any(Number),
              response_excerpt: 'ok',
              error: null,
            },
          ],
        },
      ],
      page: { limit: 20, next_cursor: null },
    });
    const audit = await env.DB.prepare(
      "SELECT changes FROM audit_log WHERE action = 'webhook_endpoint.test' AND target_id = ?",
    )
      .bind(endpoint.id)
      .first<{ changes: string }>();
    expect(JSON.parse(audit?.changes ?? '')).toStrictEqual({ delivery_id: queued.id });
  });

  it('answers 404 for an unknown endpoint', async () => {
    await expectProblem(
      await admin('POST', '/webhooks/whe_01ZZZZZZZZZZZZZZZZZZZZZZZZ/test'),
      404,
      'not_found',
    );
  });
});

describe('the delivery log', () => {
  it('pages newest first and filters by status', async () => {
    const endpoint = await createEndpoint(token, {
      url: receivers.url(() => new Response(null, { status: 410 })),
    });
    // Three deliveries straight into D1 (never queued), so their states stay as written.
    const ids = [
      await insertDelivery(endpoint.id),
      await insertDelivery(endpoint.id),
      await insertDelivery(endpoint.id),
    ];
    await env.DB.prepare("UPDATE webhook_deliveries SET status = 'failed' WHERE id = ?").bind(ids[0]).run();

    const first = (await (await admin('GET', `/webhooks/${endpoint.id}/deliveries?limit=2`)).json()) as {
      data: { id: string }[];
      page: { next_cursor: string };
    };
    expect(first.data.map((d) => d.id)).toStrictEqual([ids[2], ids[1]]);
    const second = (await (
      await admin('GET', `/webhooks/${endpoint.id}/deliveries?limit=2&cursor=${first.page.next_cursor}`)
    ).json()) as { data: { id: string }[] };
    expect(second.data.map((d) => d.id)).toStrictEqual([ids[0]]);
    const failed = (await (
      await admin('GET', `/webhooks/${endpoint.id}/deliveries?status=failed`)
    ).json()) as {
      data: { id: string }[];
    };
    expect(failed.data.map((d) => d.id)).toStrictEqual([ids[0]]);
    await expectProblem(
      await admin('GET', '/webhooks/whe_01ZZZZZZZZZZZZZZZZZZZZZZZZ/deliveries'),
      404,
      'not_found',
    );
  });
});

describe('POST /v1/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver', () => {
  it('sends the same body with the same webhook-id again, as a new delivery', async () => {
    const endpoint = await createEndpoint(token, { url: receivers.url() });
    const event = envelope();
    await fanOut(event);
    const [original] = await settledDeliveries(endpoint.id, 1);

    const res = await admin('POST', `/webhooks/${endpoint.id}/deliveries/${original?.id}/redeliver`);

    expect(res.status).toBe(202);
    const again = (await res.json()) as { id: string };
    expect(again).toMatchObject({
      event_id: event.id,
      origin: 'redelivery',
      status: 'pending',
      attempts: [],
    });
    expect(again.id).not.toBe(original?.id);
    await settledDeliveries(endpoint.id, 2);
    const [first, second] = receivers.at(endpoint.url);
    expect(second?.body).toBe(first?.body);
    expect(second?.headers['webhook-id']).toBe(event.id);
    expect(new Webhook(endpoint.secret).verify(second?.body ?? '', second?.headers ?? {})).toStrictEqual(
      event,
    );
    const audit = await env.DB.prepare(
      "SELECT changes FROM audit_log WHERE action = 'webhook_endpoint.redeliver' AND target_id = ?",
    )
      .bind(endpoint.id)
      .first<{ changes: string }>();
    expect(JSON.parse(audit?.changes ?? '')).toStrictEqual({
      delivery_id: again.id,
      redelivery_of: original?.id,
      event_id: event.id,
    });
  });

  it('answers 404 for a delivery of another endpoint', async () => {
    const one = await createEndpoint(token, { url: receivers.url() });
    const other = await createEndpoint(token, { url: receivers.url() });
    const deliveryId = await insertDelivery(other.id);
    await expectProblem(
      await admin('POST', `/webhooks/${one.id}/deliveries/${deliveryId}/redeliver`),
      404,
      'not_found',
    );
  });
});

describe('POST /v1/admin/webhooks/{id}/replay', () => {
  /** An outbox row written straight to D1 at a chosen commit time (in the trace `traceparent`, if given). */
  async function outboxEvent(type: string, occurredAt: string, traceparent: string | null = null) {
    const id = newId('evt');
    const aggregateId = newId('prod');
    await env.DB.prepare(
      `INSERT INTO outbox_events (id, type, version, aggregate_type, aggregate_id, payload, actor_type, actor_id, occurred_at, traceparent)
       VALUES (?, ?, 1, ?, ?, ?, 'staff', 'stf_1', ?, ?)`,
    )
      .bind(
        id,
        type,
        type.split('.')[0],
        aggregateId,
        JSON.stringify({ id: aggregateId }),
        Date.parse(occurredAt),
        traceparent,
      )
      .run();
    return {
      id,
      type,
      version: 1,
      occurred_at: new Date(occurredAt).toISOString(),
      aggregate: { type: type.split('.')[0], id: aggregateId },
      traceparent,
      data: { id: aggregateId },
    };
  }

  it('sends each event as the event queue carried it, with the trace context of the request that caused it', async () => {
    const endpoint = await createEndpoint(token, { url: receivers.url(), events: ['region.updated'] });
    const traced = await outboxEvent(
      'region.updated',
      '2025-04-01T10:00:00.000Z',
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    );

    const res = await admin('POST', `/webhooks/${endpoint.id}/replay`, {
      from: '2025-04-01T10:00:00Z',
      to: '2025-04-01T10:00:01Z',
    });

    expect(res.status).toBe(202);
    const [delivery] = await settledDeliveries(endpoint.id, 1);
    expect(delivery).toMatchObject({ event_id: traced.id, origin: 'replay', status: 'succeeded' });
    const [received] = receivers.at(endpoint.url);
    expect(received?.body).toBe(JSON.stringify(traced));
  });

  it('delivers again the subscribed events committed in [from, to)', async () => {
    const endpoint = await createEndpoint(token, {
      url: receivers.url(),
      events: ['region.*', 'category.created'],
    });
    await outboxEvent('region.updated', '2025-03-01T09:59:59.999Z');
    const a = await outboxEvent('region.created', '2025-03-01T10:00:00.000Z');
    await outboxEvent('collection.created', '2025-03-01T10:30:00.000Z');
    const b = await outboxEvent('category.created', '2025-03-01T10:45:00.000Z');
    const c = await outboxEvent('region.deleted', '2025-03-01T10:59:59.999Z');
    await outboxEvent('region.updated', '2025-03-01T11:00:00.000Z');

    const res = await admin('POST', `/webhooks/${endpoint.id}/replay`, {
      from: '2025-03-01T10:00:00Z',
      to: '2025-03-01T12:00:00+01:00',
    });

    expect(res.status).toBe(202);
    expect(await res.json()).toStrictEqual({
      queued: 3,
      from: '2025-03-01T10:00:00.000Z',
      to: '2025-03-01T11:00:00.000Z',
    });
    // Delivered concurrently, so in no particular order (docs/WEBHOOKS.md): compared by event id.
    const byId = <T extends { id: string }>(list: T[]) => [...list].sort((x, y) => x.id.localeCompare(y.id));
    const deliveries = await settledDeliveries(endpoint.id, 3);
    expect(deliveries.every((d) => d.origin === 'replay' && d.status === 'succeeded')).toBe(true);
    expect(deliveries.map((d) => d.event_id).sort()).toStrictEqual([a.id, b.id, c.id].sort());
    const bodies = receivers
      .at(endpoint.url)
      .map((r) => new Webhook(endpoint.secret).verify(r.body, r.headers) as { id: string });
    expect(byId(bodies)).toStrictEqual(byId([a, b, c]));
  });

  it('never replays an internal event, though `*` and `customer.*` match its name', async () => {
    const everything = await createEndpoint(token, { url: receivers.url(), events: ['*'] });
    const customers = await createEndpoint(token, { url: receivers.url(), events: ['customer.*'] });
    const product = await outboxEvent('product.updated', '2025-06-01T10:00:00.000Z');
    const customer = await outboxEvent('customer.created', '2025-06-01T10:01:00.000Z');
    // Internal events: mail requests for our own email consumer. A reset request names an address anyone typed.
    await outboxEvent('password_reset.requested', '2025-06-01T10:02:00.000Z');
    await outboxEvent('staff_invite.created', '2025-06-01T10:03:00.000Z');
    await outboxEvent('customer.email_verification_requested', '2025-06-01T10:04:00.000Z');
    const range = { from: '2025-06-01T10:00:00.000Z', to: '2025-06-01T11:00:00.000Z' };
    const replayedEvents = async (endpointId: string) => {
      const { results } = await env.DB.prepare(
        'SELECT event_id FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY event_id',
      )
        .bind(endpointId)
        .all<{ event_id: string }>();
      return results.map((row) => row.event_id);
    };

    const toEverything = await admin('POST', `/webhooks/${everything.id}/replay`, range);
    const toCustomers = await admin('POST', `/webhooks/${customers.id}/replay`, range);

    expect(toEverything.status).toBe(202);
    expect(await toEverything.json()).toStrictEqual({ queued: 2, ...range });
    expect(await replayedEvents(everything.id)).toStrictEqual([product.id, customer.id].sort());
    expect(toCustomers.status).toBe(202);
    expect(await toCustomers.json()).toStrictEqual({ queued: 1, ...range });
    expect(await replayedEvents(customers.id)).toStrictEqual([customer.id]);
  });

  it('refuses a range holding more than 100 events with 422, queuing nothing', async () => {
    const endpoint = await createEndpoint(token, { url: receivers.url(), events: ['product.deleted'] });
    for (let i = 0; i <= 100; i++)
      await outboxEvent('product.deleted', new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString());

    const res = await admin('POST', `/webhooks/${endpoint.id}/replay`, {
      from: '2024-01-01T00:00:00Z',
      to: '2024-01-02T00:00:00Z',
    });

    await expectProblem(res, 422, 'replay_range_too_large', [
      { pointer: '/body/to', message: 'At most 100 events per replay' },
    ]);
    const { results } = await env.DB.prepare('SELECT id FROM webhook_deliveries WHERE endpoint_id = ?')
      .bind(endpoint.id)
      .all();
    expect(results).toStrictEqual([]);
  });

  it('refuses an empty or inverted range with 422', async () => {
    const endpoint = await createEndpoint(token, { url: receivers.url() });
    for (const body of [
      { from: '2025-01-02T00:00:00Z', to: '2025-01-01T00:00:00Z' },
      { from: '2025-01-01T00:00:00Z', to: '2025-01-01T00:00:00Z' },
    ]) {
      await expectProblem(
        await admin('POST', `/webhooks/${endpoint.id}/replay`, body),
        422,
        'validation_failed',
        [{ pointer: '/body/to', message: 'Must be after `from`' }],
      );
    }
    await expectProblem(
      await admin('POST', `/webhooks/${endpoint.id}/replay`, {
        from: 'yesterday',
        to: '2025-01-01T00:00:00Z',
      }),
      422,
      'validation_failed',
      [{ pointer: '/body/from', message: expect.any(String) }],
    );
  });
});

describe('through the real queue', () => {
  it('a failed attempt comes back after about 5 seconds and succeeds', async () => {
    let calls = 0;
    const endpoint = await createEndpoint(token, {
      url: receivers.url(() => (++calls === 1 ? new Response('busy', { status: 503 }) : new Response('ok'))),
    });
    await fanOut();

    const [delivery] = await settledDeliveries(endpoint.id, 1);
    expect(delivery).toMatchObject({ status: 'succeeded', attempt_count: 2 });
    const [first, second] = await attemptRows(delivery?.id ?? '');
    expect([first?.response_status, second?.response_status]).toStrictEqual([503, 200]);
    const waited = (second?.attempted_at ?? 0) - (first?.attempted_at ?? 0);
    expect(waited).toBeGreaterThanOrEqual(4_500);
  });

  it('410 disables the endpoint; a disabled endpoint gets no ping until it is enabled again', async () => {
    let gone = true;
    const endpoint = await createEndpoint(token, {
      url: receivers.url(() => (gone ? new Response(null, { status: 410 }) : new Response('ok'))),
    });
    await fanOut();
    await settledDeliveries(endpoint.id, 1);
    expect(await (await admin('GET', `/webhooks/${endpoint.id}`)).json()).toMatchObject({
      enabled: false,
      disabled_reason: 'gone',
    });

    for (const path of ['test', 'replay']) {
      const body =
        path === 'replay' ? { from: '2025-01-01T00:00:00Z', to: '2025-01-02T00:00:00Z' } : undefined;
      await expectProblem(
        await admin('POST', `/webhooks/${endpoint.id}/${path}`, body),
        409,
        'webhook_endpoint_disabled',
      );
    }

    gone = false;
    await admin('PATCH', `/webhooks/${endpoint.id}`, { enabled: true });
    expect((await admin('POST', `/webhooks/${endpoint.id}/test`)).status).toBe(202);
    const deliveries = await settledDeliveries(endpoint.id, 2);
    expect(deliveries.map((d) => d.status)).toStrictEqual(['failed', 'succeeded']);
  });

  it('the every-minute sweep queues again a delivery whose message was lost', async () => {
    const endpoint = await createEndpoint(token, { url: receivers.url() });
    const lost = await insertDelivery(endpoint.id);
    const late = await insertDelivery(endpoint.id);
    const minutesAgo = (m: number) => Date.now() - m * 60_000;
    await env.DB.prepare('UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?')
      .bind(minutesAgo(11), lost)
      .run();
    await env.DB.prepare('UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?')
      .bind(minutesAgo(5), late)
      .run();

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: '* * * * *' }), env, ctx);
    await waitOnExecutionContext(ctx);

    // The same run publishes what earlier tests left in the outbox, and the webhooks consumer fans those events
    // out to this endpoint too (it takes every type): wait for the lost delivery itself, not for a count.
    expect(await settledDelivery(lost)).toMatchObject({ status: 'succeeded', attempt_count: 1 });
    expect(await deliveryRow(late)).toMatchObject({ status: 'pending', attempt_count: 0 });
  });
});
