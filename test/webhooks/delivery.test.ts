/**
 * The delivery queue's handler, driven one batch at a time (deliveries are committed but never queued here, so
 * no background consumer races the test): what each receiver answer leads to, the retry schedule with the
 * delaySeconds each message is retried with, Retry-After, the attempt timeout, redirects and refused URLs, and
 * endpoints disabled for answering 410 or for failing for days. The receiver is faked at the fetch boundary;
 * time moves only when a test sets the clock.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { FAILING_ENDPOINT_DISABLE_MS } from '../../src/modules/webhooks/deliver';
import { RETRY_DELAYS_SECONDS } from '../../src/modules/webhooks/retry-schedule';
import { ATTEMPT_TIMEOUT_MS } from '../../src/modules/webhooks/send-attempt';
import { insertSecretKey } from '../helpers/admin';
import { bearer, call, jsonInit } from '../helpers/http';
import {
  attemptRows,
  createEndpoint,
  deliveryRow,
  endpointRow,
  envelope,
  FakeReceivers,
  insertDelivery,
  runDeliveryQueue,
} from '../helpers/webhooks';

let token = '';
let receivers: FakeReceivers;
beforeAll(async () => {
  token = (await insertSecretKey(['webhooks:manage', 'audit:read'])).key;
});
beforeEach(() => {
  receivers = new FakeReceivers();
  // The middle of the jitter band: every wait is exactly the schedule's.
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** An endpoint whose receiver answers with `answer`, and one delivery to it, committed and due. */
async function deliveryTo(answer?: Parameters<FakeReceivers['url']>[0]) {
  const url = receivers.url(answer);
  const endpoint = await createEndpoint(token, { url });
  const deliveryId = await insertDelivery(endpoint.id);
  return { url, endpoint, deliveryId };
}

/** Moves the Worker's clock to when the delivery's next attempt is due. */
async function untilDue(deliveryId: string) {
  const { next_attempt_at } = await deliveryRow(deliveryId);
  vi.setSystemTime(next_attempt_at ?? Date.now());
}

async function outboxEvents(aggregateId: string) {
  const { results } = await env.DB.prepare(
    'SELECT type, aggregate_type, payload, actor_type, actor_id FROM outbox_events WHERE aggregate_id = ?',
  )
    .bind(aggregateId)
    .all<{ type: string; payload: string }>();
  return results.map((row) => ({ ...row, payload: JSON.parse(row.payload) as unknown }));
}

async function auditOf(targetId: string) {
  const { results } = await env.DB.prepare(
    'SELECT actor_type, actor_id, action, changes FROM audit_log WHERE target_id = ? ORDER BY rowid',
  )
    .bind(targetId)
    .all<{ action: string; changes: string }>();
  return results.map((row) => ({ ...row, changes: JSON.parse(row.changes) as unknown }));
}

describe('an answer in time', () => {
  it('2xx: the delivery succeeds after one attempt, its message is acknowledged', async () => {
    const { url, deliveryId } = await deliveryTo(() => new Response('thanks', { status: 202 }));

    const { result, retryDelays } = await runDeliveryQueue(deliveryId);

    expect(retryDelays).toStrictEqual([undefined]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(receivers.at(url)).toHaveLength(1);
    expect(await deliveryRow(deliveryId)).toMatchObject({
      status: 'succeeded',
      attempt_count: 1,
      next_attempt_at: null,
      completed_at: expect.any(Number),
    });
    expect(await attemptRows(deliveryId)).toStrictEqual([
      {
        attempt: 1,
        attempted_at: expect.any(Number),
        latency_ms: expect.any(Number),
        response_status: 202,
        response_excerpt: 'thanks',
        error: null,
      },
    ]);
  });

  it('keeps the first 1 KB of a long response body', async () => {
    const { deliveryId } = await deliveryTo(() => new Response('é'.repeat(2000), { status: 500 }));
    await runDeliveryQueue(deliveryId);
    const [attempt] = await attemptRows(deliveryId);
    // 1,024 bytes of two-byte characters: 512 of them.
    expect(attempt?.response_excerpt).toBe('é'.repeat(512));
  });

  it('POSTs JSON with no redirect followed, and a message for a finished delivery sends nothing', async () => {
    const { url, deliveryId } = await deliveryTo();
    await runDeliveryQueue(deliveryId);
    expect(receivers.spy.mock.calls[0]?.[1]).toMatchObject({ method: 'POST', redirect: 'manual' });
    expect(receivers.at(url)[0]?.headers['content-type']).toBe('application/json');

    const again = await runDeliveryQueue(deliveryId);
    expect(again.retryDelays).toStrictEqual([undefined]);
    expect(receivers.at(url)).toHaveLength(1);
  });

  it('ignores a message that comes before the delivery is due (a duplicate), and one that is malformed', async () => {
    const { url, deliveryId } = await deliveryTo(() => new Response('busy', { status: 500 }));
    await runDeliveryQueue(deliveryId);
    const duplicate = await runDeliveryQueue(deliveryId);
    expect(duplicate.retryDelays).toStrictEqual([undefined]);
    expect(receivers.at(url)).toHaveLength(1);
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'pending', attempt_count: 1 });

    const malformed = await runDeliveryQueue(undefined as unknown as string);
    expect(malformed.result.explicitAcks).toHaveLength(1);
    expect(receivers.received).toHaveLength(1);
  });
});

describe('one delivery, one attempt at a time', () => {
  it('two messages for one due delivery in one batch (a re-queue racing the first) send one request', async () => {
    const { url, deliveryId } = await deliveryTo();

    // Handled concurrently, in either order: the other message finds the attempt claimed or made.
    const { retryDelays } = await runDeliveryQueue(deliveryId, deliveryId);

    expect(retryDelays).toStrictEqual([undefined, undefined]);
    expect(receivers.at(url)).toHaveLength(1);
    expect((await attemptRows(deliveryId)).map((a) => a.attempt)).toStrictEqual([1]);
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'succeeded', attempt_count: 1 });
  });

  it('a message that arrives while the attempt is in flight sends nothing', async () => {
    let second: Awaited<ReturnType<typeof runDeliveryQueue>> | undefined;
    let inFlight = false;
    const { url, deliveryId } = await deliveryTo(async () => {
      // The receiver has the first request, which is not recorded yet: the delivery is still pending.
      if (!inFlight) {
        inFlight = true;
        second = await runDeliveryQueue(deliveryId);
      }
      return new Response('ok');
    });

    await runDeliveryQueue(deliveryId);

    expect(second?.retryDelays).toStrictEqual([undefined]);
    expect(receivers.at(url)).toHaveLength(1);
    expect((await attemptRows(deliveryId)).map((a) => a.attempt)).toStrictEqual([1]);
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'succeeded', attempt_count: 1 });
  });
});

describe('retries', () => {
  it('follows the schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then gives up after the eighth attempt', async () => {
    const { url, endpoint, deliveryId } = await deliveryTo(() => new Response('down', { status: 500 }));
    const delays: (number | undefined)[] = [];
    for (let attempt = 1; attempt <= 8; attempt++) {
      await untilDue(deliveryId);
      delays.push(...(await runDeliveryQueue(deliveryId)).retryDelays);
    }

    expect(delays).toStrictEqual([5, 300, 1_800, 7_200, 18_000, 36_000, 36_000, undefined]);
    expect(receivers.at(url)).toHaveLength(8);
    const attempts = await attemptRows(deliveryId);
    expect(attempts.map((a) => [a.attempt, a.response_status, a.error])).toStrictEqual(
      Array.from({ length: 8 }, (_, i) => [i + 1, 500, null]),
    );
    // Each attempt happened when the previous one said: the waits in the log are the schedule.
    expect(
      attempts.slice(1).map((a, i) => (a.attempted_at - (attempts[i]?.attempted_at ?? 0)) / 1000),
    ).toStrictEqual([...RETRY_DELAYS_SECONDS]);
    expect(await deliveryRow(deliveryId)).toMatchObject({
      status: 'failed',
      attempt_count: 8,
      next_attempt_at: null,
      completed_at: attempts[7]?.attempted_at,
    });
    // About 27.6 hours of failure is not yet the five days that disable an endpoint.
    expect(await endpointRow(endpoint.id)).toMatchObject({
      enabled: 1,
      failing_since: attempts[0]?.attempted_at,
    });
  });

  it('spreads each wait by up to 10 % either way', async () => {
    const low = await deliveryTo(() => new Response(null, { status: 500 }));
    const high = await deliveryTo(() => new Response(null, { status: 500 }));
    await runDeliveryQueue(low.deliveryId, high.deliveryId);
    await untilDue(low.deliveryId);
    vi.spyOn(Math, 'random').mockReturnValue(0);
    expect((await runDeliveryQueue(low.deliveryId)).retryDelays).toStrictEqual([270]);
    vi.spyOn(Math, 'random').mockReturnValue(0.999999);
    expect((await runDeliveryQueue(high.deliveryId)).retryDelays).toStrictEqual([330]);
  });

  it('succeeds on a later attempt, and the endpoint’s failure streak ends', async () => {
    let calls = 0;
    const { endpoint, deliveryId } = await deliveryTo(() =>
      ++calls === 1 ? new Response('oops', { status: 503 }) : new Response('ok'),
    );
    await runDeliveryQueue(deliveryId);
    expect((await endpointRow(endpoint.id))?.failing_since).toStrictEqual(expect.any(Number));
    await untilDue(deliveryId);
    expect((await runDeliveryQueue(deliveryId)).retryDelays).toStrictEqual([undefined]);
    expect((await attemptRows(deliveryId)).map((a) => a.response_status)).toStrictEqual([503, 200]);
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'succeeded', attempt_count: 2 });
    expect((await endpointRow(endpoint.id))?.failing_since).toBeNull();
  });

  it.each([
    ['120', 120],
    ['0', 5],
    ['soon', 5],
    [String(3 * 24 * 3600), 12 * 3600],
  ])(
    'honours Retry-After: %s -> waits %i s (never shorter than the schedule, never over 12 h)',
    async (header, wait) => {
      const { deliveryId } = await deliveryTo(
        () => new Response('slow down', { status: 429, headers: { 'Retry-After': header } }),
      );
      expect((await runDeliveryQueue(deliveryId)).retryDelays).toStrictEqual([wait]);
      const { next_attempt_at } = await deliveryRow(deliveryId);
      const [attempt] = await attemptRows(deliveryId);
      expect(next_attempt_at).toBe((attempt?.attempted_at ?? 0) + wait * 1000);
    },
  );

  it('honours a Retry-After date', async () => {
    vi.setSystemTime(new Date('2026-11-26T12:00:00Z'));
    const { deliveryId } = await deliveryTo(
      () => new Response(null, { status: 503, headers: { 'Retry-After': 'Thu, 26 Nov 2026 12:10:00 GMT' } }),
    );
    expect((await runDeliveryQueue(deliveryId)).retryDelays).toStrictEqual([600]);
  });
});

describe('attempts without an answer', () => {
  it('times out after 15 s exactly, records it and retries', async () => {
    let answered: () => void = () => {};
    const asked = new Promise<void>((resolve) => {
      answered = resolve;
    });
    const { deliveryId } = await deliveryTo(
      (_request, signal) =>
        new Promise<Response>((_resolve, reject) => {
          answered();
          signal?.addEventListener('abort', () => reject(signal.reason));
        }),
    );
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });

    const run = runDeliveryQueue(deliveryId);
    await asked;
    await vi.advanceTimersByTimeAsync(ATTEMPT_TIMEOUT_MS - 1);
    expect(await attemptRows(deliveryId)).toStrictEqual([]);
    await vi.advanceTimersByTimeAsync(1);

    expect((await run).retryDelays).toStrictEqual([5]);
    expect(await attemptRows(deliveryId)).toStrictEqual([
      {
        attempt: 1,
        attempted_at: expect.any(Number),
        latency_ms: expect.any(Number),
        response_status: null,
        response_excerpt: null,
        error: 'timeout',
      },
    ]);
  });

  it('counts a 2xx answered in time as delivered though its body never ends: the deadline only cuts the excerpt', async () => {
    let answered: () => void = () => {};
    const asked = new Promise<void>((resolve) => {
      answered = resolve;
    });
    const { deliveryId } = await deliveryTo((_request, signal) => {
      answered();
      // The receiver sends its status and a first chunk at once, then keeps the body open, as a streaming server
      // does; aborting the request errors the body, as it does for a real fetch.
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('ok'));
          signal?.addEventListener('abort', () => controller.error(signal.reason));
        },
      });
      return new Response(body, { status: 200 });
    });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });

    const run = runDeliveryQueue(deliveryId);
    await asked;
    await vi.advanceTimersByTimeAsync(ATTEMPT_TIMEOUT_MS);

    expect((await run).retryDelays).toStrictEqual([undefined]);
    expect(await attemptRows(deliveryId)).toStrictEqual([
      {
        attempt: 1,
        attempted_at: expect.any(Number),
        latency_ms: expect.any(Number),
        response_status: 200,
        response_excerpt: 'ok',
        error: null,
      },
    ]);
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'succeeded', attempt_count: 1 });
  });

  it('records a connection failure and retries', async () => {
    const { endpoint } = await deliveryTo();
    await env.DB.prepare('UPDATE webhook_endpoints SET url = ? WHERE id = ?')
      .bind('https://unreachable.example.org/hooks', endpoint.id)
      .run();
    const deliveryId = await insertDelivery(endpoint.id);
    expect((await runDeliveryQueue(deliveryId)).retryDelays).toStrictEqual([5]);
    expect((await attemptRows(deliveryId))[0]).toMatchObject({
      response_status: null,
      error: 'network_error',
    });
  });

  it('refuses a redirect without following it', async () => {
    const { url, deliveryId } = await deliveryTo(
      () => new Response(null, { status: 307, headers: { Location: 'https://169.254.169.254/' } }),
    );
    expect((await runDeliveryQueue(deliveryId)).retryDelays).toStrictEqual([5]);
    expect(receivers.spy).toHaveBeenCalledTimes(1);
    expect(receivers.at(url)).toHaveLength(1);
    expect((await attemptRows(deliveryId))[0]).toMatchObject({
      response_status: null,
      error: 'redirect_refused',
    });
  });

  it('checks the URL again before sending: a refused URL in D1 is never fetched', async () => {
    const { endpoint } = await deliveryTo();
    await env.DB.prepare('UPDATE webhook_endpoints SET url = ? WHERE id = ?')
      .bind('https://169.254.169.254/latest/meta-data/', endpoint.id)
      .run();
    const deliveryId = await insertDelivery(endpoint.id);
    expect((await runDeliveryQueue(deliveryId)).retryDelays).toStrictEqual([5]);
    expect(receivers.spy).not.toHaveBeenCalled();
    expect((await attemptRows(deliveryId))[0]).toMatchObject({ response_status: null, error: 'url_refused' });
  });
});

describe('disabling an endpoint', () => {
  it('410 Gone: no retry, the endpoint is disabled, staff are told by an event and an audit entry', async () => {
    const { url, endpoint, deliveryId } = await deliveryTo(
      () => new Response('unsubscribed', { status: 410 }),
    );
    const waiting = await insertDelivery(endpoint.id);

    expect((await runDeliveryQueue(deliveryId)).retryDelays).toStrictEqual([undefined]);

    expect(await deliveryRow(deliveryId)).toMatchObject({
      status: 'failed',
      attempt_count: 1,
      next_attempt_at: null,
    });
    const disabled = await (
      await call(`/v1/admin/webhooks/${endpoint.id}`, { headers: bearer(token) })
    ).json();
    expect(disabled).toMatchObject({
      enabled: false,
      disabled_reason: 'gone',
      disabled_at: expect.any(String),
    });
    expect(await outboxEvents(endpoint.id)).toStrictEqual([
      {
        type: 'webhook_endpoint.disabled',
        aggregate_type: 'webhook_endpoint',
        payload: { id: endpoint.id, url, reason: 'gone', failing_since: expect.any(String) },
        actor_type: 'system',
        actor_id: 'webhook-deliveries',
      },
    ]);
    expect((await auditOf(endpoint.id)).at(-1)).toStrictEqual({
      actor_type: 'system',
      actor_id: 'webhook-deliveries',
      action: 'webhook_endpoint.disable',
      changes: { enabled: { from: true, to: false }, disabled_reason: 'gone' },
    });

    // The endpoint's other pending delivery is canceled when its message comes, without a request.
    expect((await runDeliveryQueue(waiting)).retryDelays).toStrictEqual([undefined]);
    expect(await deliveryRow(waiting)).toMatchObject({ status: 'canceled', attempt_count: 0 });
    expect(receivers.at(url)).toHaveLength(1);
  });

  it('an endpoint failing every attempt for 5 days is disabled at its next failure, with an event and an audit entry', async () => {
    const { endpoint, deliveryId } = await deliveryTo(() => new Response(null, { status: 500 }));
    const failingSince = Date.now() - FAILING_ENDPOINT_DISABLE_MS + 60_000;
    await env.DB.prepare('UPDATE webhook_endpoints SET failing_since = ? WHERE id = ?')
      .bind(failingSince, endpoint.id)
      .run();

    // A minute short of five days: retried as usual.
    expect((await runDeliveryQueue(deliveryId)).retryDelays).toStrictEqual([5]);
    expect((await endpointRow(endpoint.id))?.enabled).toBe(1);

    vi.setSystemTime(failingSince + FAILING_ENDPOINT_DISABLE_MS);
    expect((await runDeliveryQueue(deliveryId)).retryDelays).toStrictEqual([undefined]);

    expect(await endpointRow(endpoint.id)).toMatchObject({
      enabled: 0,
      disabled_reason: 'failing',
      failing_since: failingSince,
    });
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'failed', attempt_count: 2 });
    expect(await outboxEvents(endpoint.id)).toStrictEqual([
      expect.objectContaining({
        type: 'webhook_endpoint.disabled',
        payload: {
          id: endpoint.id,
          url: endpoint.url,
          reason: 'failing',
          failing_since: new Date(failingSince).toISOString(),
        },
      }),
    ]);
    expect((await auditOf(endpoint.id)).at(-1)).toMatchObject({
      action: 'webhook_endpoint.disable',
      changes: { enabled: { from: true, to: false }, disabled_reason: 'failing' },
    });
  });

  it('re-enabled, the endpoint starts afresh and receives its next delivery', async () => {
    let gone = true;
    const { url, endpoint, deliveryId } = await deliveryTo(() =>
      gone ? new Response(null, { status: 410 }) : new Response('back'),
    );
    await runDeliveryQueue(deliveryId);
    expect((await endpointRow(endpoint.id))?.enabled).toBe(0);

    gone = false;
    const res = await call(
      `/v1/admin/webhooks/${endpoint.id}`,
      jsonInit('PATCH', { enabled: true }, bearer(token)),
    );
    expect(await res.json()).toMatchObject({ enabled: true, disabled_reason: null, failing_since: null });

    const next = await insertDelivery(endpoint.id, envelope({ type: 'order.created' }));
    await runDeliveryQueue(next);
    expect(await deliveryRow(next)).toMatchObject({ status: 'succeeded' });
    expect(receivers.at(url)).toHaveLength(2);
  });
});
