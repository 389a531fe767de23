/**
 * The event queue's handler (src/jobs/event-queue.ts), driven with real message batches: each message is acked on
 * its own, a failing consumer is retried with exponential backoff and finally dead-lettered with its error, a
 * duplicate has one effect, internal events reach only internal consumers, and consumers stay in the trace.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { handleDeadLetterBatch, MAX_DELIVERY_ATTEMPTS, retryDelaySeconds } from '../../src/jobs/event-queue';
import type { CatalogEvent } from '../../src/lib/event-catalog';
import type { EventConsumer } from '../../src/lib/event-consumer';
import { analyticsConsumer } from '../../src/modules/analytics/consumer';
import { deliverBatch, eventuallyFound, syntheticEnvelope } from '../helpers/events';
import { logLines } from '../helpers/request-cost';
import { unique } from '../helpers/unique';

afterEach(() => vi.restoreAllMocks());

/** A consumer of every type that records what it got and fails while `failing` says so. */
function recordingConsumer(name: string, options: { internal?: boolean; failing?: () => boolean } = {}) {
  const seen: { event: CatalogEvent; traceparent: string | null }[] = [];
  const consumer: EventConsumer = {
    name,
    ...(options.internal && { internal: true }),
    handles: () => true,
    async consume(_env, event, { caller, commitOnce }) {
      seen.push({ event, traceparent: caller.meta.traceparent });
      if (options.failing?.()) throw new Error(`${name} is down`);
      await commitOnce({ statements: [] });
    },
  };
  return { consumer, seen };
}

const productUpdated = (extra = {}) => syntheticEnvelope('product.updated', { id: unique('prod') }, extra);

const paid = (amount: number) =>
  syntheticEnvelope('order.paid', {
    id: unique('order'),
    region: 'eu',
    country: 'DE',
    currency: 'EUR',
    amount,
    payment_id: unique('pay'),
    via: 'checkout',
  });

const deadLetterOf = (eventId: string) =>
  eventuallyFound(`the dead letter of ${eventId}`, () =>
    env.DB.prepare('SELECT event_type, failures, attempts, envelope FROM dead_letters WHERE event_id = ?')
      .bind(eventId)
      .first<{ event_type: string; failures: string; attempts: number; envelope: string }>(),
  );

const processedCount = (eventId: string) =>
  env.DB.prepare('SELECT consumer FROM processed_events WHERE event_id = ? ORDER BY consumer')
    .bind(eventId)
    .all()
    .then((r) => r.results);

describe('acks and retries', () => {
  it('acks each message on its own: a failing event is retried without holding back the others', async () => {
    const { consumer } = recordingConsumer(unique('picky'), { failing: () => true });
    const failing = productUpdated();
    const fine = syntheticEnvelope('customer.created', { id: unique('cus') });
    const only = { ...consumer, handles: (type: string) => type === 'product.updated' };
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const result = await deliverBatch([failing, fine], { consumers: [only] });
    expect(result.acked).toHaveLength(1);
    expect(result.retried).toStrictEqual([{ msgId: expect.stringMatching(/^msg-0-/), delaySeconds: 10 }]);
    expect(result.retryBatch).toBe(false);
  });

  it('backs off exponentially, doubling from 10 s up to 15 minutes, then dead-letters on the last attempt', async () => {
    expect([1, 2, 3, 4, 5].map(retryDelaySeconds)).toStrictEqual([10, 20, 40, 80, 160]);
    expect(retryDelaySeconds(20)).toBe(900);
    const { consumer } = recordingConsumer(unique('down'), { failing: () => true });
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    for (let attempts = 1; attempts < MAX_DELIVERY_ATTEMPTS; attempts++) {
      const result = await deliverBatch([productUpdated()], { consumers: [consumer], attempts });
      expect(result.retried, `attempt ${attempts}`).toStrictEqual([
        { msgId: expect.any(String), delaySeconds: retryDelaySeconds(attempts) },
      ]);
    }
    const last = productUpdated();
    const result = await deliverBatch([last], { consumers: [consumer], attempts: MAX_DELIVERY_ATTEMPTS });
    expect(result).toStrictEqual({ acked: [expect.any(String)], retried: [], retryBatch: false });
    // Through the real dead-letter queue to its handler, which stores it with the consumer's error.
    const letter = await deadLetterOf(last.id);
    expect({
      ...letter,
      failures: JSON.parse(letter.failures),
      envelope: JSON.parse(letter.envelope),
    }).toStrictEqual({
      event_type: 'product.updated',
      failures: [{ consumer: consumer.name, error: `Error: ${consumer.name} is down` }],
      attempts: MAX_DELIVERY_ATTEMPTS,
      envelope: last,
    });
  });

  it('dead-letters an event no consumer can read at once, without retrying', async () => {
    const unknown = syntheticEnvelope('order.teleported', { id: 'ord_1' });
    const invalid = syntheticEnvelope('order.paid', { id: 'ord_2', amount: -5 });
    const result = await deliverBatch([unknown, invalid], { consumers: [] });
    expect(result.acked).toHaveLength(2);
    expect(result.retried).toStrictEqual([]);
    const failuresOf = async (id: string) => JSON.parse((await deadLetterOf(id)).failures);
    expect(await failuresOf(unknown.id)).toStrictEqual([
      { consumer: null, error: expect.stringMatching(/^not a catalog event: \/type: /) },
    ]);
    expect(await failuresOf(invalid.id)).toStrictEqual([
      { consumer: null, error: expect.stringMatching(/^not a catalog event: \/data\/region: /) },
    ]);
  });

  it('runs again only the consumers that failed: the others skip an event they processed', async () => {
    let down = true;
    const flaky = recordingConsumer(unique('flaky'), { failing: () => down });
    const steady = recordingConsumer(unique('steady'));
    const event = productUpdated();
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const consumers = [flaky.consumer, steady.consumer];
    expect((await deliverBatch([event], { consumers })).retried).toHaveLength(1);
    down = false;
    expect((await deliverBatch([event], { consumers, attempts: 2 })).acked).toHaveLength(1);
    expect([flaky.seen.length, steady.seen.length]).toStrictEqual([2, 1]);
    expect(await processedCount(event.id)).toStrictEqual(
      [flaky.consumer.name, steady.consumer.name].sort().map((consumer) => ({ consumer })),
    );
  });
});

describe('duplicates', () => {
  it('processes an event delivered twice once, whether the copies arrive together or apart', async () => {
    const event = paid(1234);
    const otherDay = { ...event, occurred_at: '2020-02-02T12:00:00.000Z' };
    const points = vi.spyOn(env.ANALYTICS, 'writeDataPoint');
    // Two copies in one batch race to commit; a third comes later.
    await deliverBatch([otherDay, otherDay], { consumers: [analyticsConsumer] });
    await deliverBatch([otherDay], { consumers: [analyticsConsumer] });
    expect(
      await env.DB.prepare(
        "SELECT paid_amount FROM sales_daily WHERE day = '2020-02-02' AND country = 'DE'",
      ).all(),
    ).toMatchObject({ results: [{ paid_amount: 1234 }] });
    expect(await processedCount(event.id)).toStrictEqual([{ consumer: 'analytics' }]);
    expect(points).toHaveBeenCalledTimes(1);
  });
});

describe('audiences', () => {
  it('gives internal events only to internal consumers', async () => {
    const outside = recordingConsumer(unique('outside'));
    const inside = recordingConsumer(unique('inside'), { internal: true });
    const reset = syntheticEnvelope('password_reset.requested', { email: 'someone@example.com' });
    const created = syntheticEnvelope('customer.created', { id: unique('cus') });
    const result = await deliverBatch([reset, created], { consumers: [outside.consumer, inside.consumer] });
    expect(result.acked).toHaveLength(2);
    expect(outside.seen.map((s) => s.event.type)).toStrictEqual(['customer.created']);
    expect(inside.seen.map((s) => s.event.type).sort()).toStrictEqual([
      'customer.created',
      'password_reset.requested',
    ]);
  });
});

describe('trace context in consumers', () => {
  it('runs a consumer in the event’s trace, and what it commits carries that trace on', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const product = unique('prod');
    const consumer: EventConsumer = {
      name: unique('follower'),
      handles: (type) => type === 'customer.created',
      async consume(_env, event, { commitOnce }) {
        await commitOnce({
          statements: [],
          events: [
            {
              type: 'product.updated',
              aggregateType: 'product',
              aggregateId: product,
              payload: { id: product },
            },
          ],
        });
        expect(event.traceparent).toBe(traceparent);
      },
    };
    await deliverBatch([syntheticEnvelope('customer.created', { id: unique('cus') }, { traceparent })], {
      consumers: [consumer],
    });
    const rows = await env.DB.prepare(
      'SELECT actor_type, actor_id, traceparent, published_at FROM outbox_events WHERE aggregate_id = ?',
    )
      .bind(product)
      .all<{ actor_type: string; actor_id: string; traceparent: string; published_at: number | null }>();
    expect(rows.results).toStrictEqual([
      {
        actor_type: 'system',
        actor_id: consumer.name,
        traceparent: expect.stringMatching(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/),
        // Published in the batch's waitUntil, which the test batch has waited for.
        published_at: expect.any(Number),
      },
    ]);
    expect(rows.results[0]?.traceparent).not.toBe(traceparent);
  });
});

describe('the dead-letter queue', () => {
  it('stores a message the platform moved after max_retries, once however often it is delivered', async () => {
    const event = productUpdated();
    const message = { id: unique('dlq-msg'), timestamp: new Date(), attempts: 1, body: event };
    for (let delivery = 0; delivery < 2; delivery++) {
      const batch = createMessageBatch('edgecart-events-dlq', [message]);
      const ctx = createExecutionContext();
      await handleDeadLetterBatch(batch, env);
      expect((await getQueueResult(batch, ctx)).explicitAcks).toStrictEqual([message.id]);
    }
    const rows = await env.DB.prepare('SELECT failures, attempts FROM dead_letters WHERE event_id = ?')
      .bind(event.id)
      .all<{ failures: string; attempts: number }>();
    expect(rows.results.map((r) => ({ ...r, failures: JSON.parse(r.failures) }))).toStrictEqual([
      {
        failures: [
          { consumer: null, error: 'retries exhausted; moved to the dead-letter queue by the platform' },
        ],
        attempts: MAX_DELIVERY_ATTEMPTS,
      },
    ]);
  });
});

describe('the run’s log line', () => {
  /** The `job` lines of `name`'s runs. */
  const jobLines = (log: MockInstance, name: string) => logLines(log).filter((line) => line.job === name);

  it('counts what an event batch cost in D1: the processed marks read, each consumer’s commit', async () => {
    const { consumer } = recordingConsumer(unique('metered'));
    const log = vi.spyOn(console, 'log');

    await deliverBatch([productUpdated()], { consumers: [consumer] });

    // The marks are read through drizzle's raw(), whose rows D1 does not report; the commit's are.
    const lines = jobLines(log, 'event-queue');
    expect(lines).toStrictEqual([
      expect.objectContaining({ status: 'ok', messages: 1, acked: 1, d1_queries: 2, d1_unreported: 1 }),
    ]);
    expect(lines[0]?.d1_rows_written).toBeGreaterThan(0);
  });

  it('counts what storing dead letters cost in D1', async () => {
    const message = { id: unique('dlq-msg'), timestamp: new Date(), attempts: 1, body: productUpdated() };
    const log = vi.spyOn(console, 'log');

    await handleDeadLetterBatch(createMessageBatch('edgecart-events-dlq', [message]), env);

    const lines = jobLines(log, 'dead-letter-queue');
    expect(lines).toStrictEqual([
      expect.objectContaining({ status: 'ok', messages: 1, stored: 1, d1_queries: 1 }),
    ]);
    expect(lines[0]?.d1_rows_written).toBeGreaterThan(0);
  });
});
