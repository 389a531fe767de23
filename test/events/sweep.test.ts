/**
 * The outbox jobs: every minute the sweep (src/jobs/outbox-sweep.ts) sends the rows a commit's own publish missed,
 * after a grace period, in commit order, at most SWEEP_LIMIT per run; retention (src/jobs/outbox-retention.ts)
 * forgets password reset requests after a week.
 */
import { createExecutionContext, createScheduledController } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import worker from '../../src/index';
import { pruneResetRequests, RESET_REQUEST_RETENTION_MS } from '../../src/jobs/outbox-retention';
import { SWEEP_GRACE_MS, SWEEP_LIMIT } from '../../src/jobs/outbox-sweep';
import { expectNoWrites, insertSecretKey } from '../helpers/admin';
import { sweep } from '../helpers/events';
import { bearer, call, expectProblem } from '../helpers/http';

beforeEach(async () => {
  // Tests in one file share storage: each starts from an empty outbox.
  await env.DB.prepare('DELETE FROM outbox_events').run();
});
afterEach(() => vi.restoreAllMocks());

/** Writes outbox rows as commit() does, `ageMs` before D1's now (the sweep compares with D1's clock). */
async function insertEvents(
  count: number,
  ageMs: number,
  publishedAt: number | null = null,
): Promise<string[]> {
  const ids = Array.from(
    { length: count },
    (_, i) => `evt_sweep_${String(i).padStart(4, '0')}_${crypto.randomUUID()}`,
  );
  const statements = ids.map((id, i) =>
    env.DB.prepare(
      `INSERT INTO outbox_events (id, type, aggregate_type, aggregate_id, payload, actor_type, actor_id, occurred_at, published_at)
       VALUES (?, 'product.updated', 'product', ?, json_object('id', ?), 'system', 'test', unixepoch('subsec') * 1000 - ? + ?, ?)`,
    ).bind(id, `prod_${i}`, `prod_${i}`, ageMs, i, publishedAt),
  );
  for (let i = 0; i < statements.length; i += 50) await env.DB.batch(statements.slice(i, i + 50));
  return ids;
}

const unpublished = async () =>
  (
    await env.DB.prepare('SELECT id FROM outbox_events WHERE published_at IS NULL ORDER BY occurred_at').all<{
      id: string;
    }>()
  ).results.map((r) => r.id);

const sentIds = (spy: { mock: { calls: Parameters<Queue['sendBatch']>[] } }) =>
  spy.mock.calls.flatMap(([messages]) => [...messages].map((m) => (m.body as { id: string }).id));

describe('the outbox sweep', () => {
  it('sends unpublished rows older than the grace period, oldest first, and stamps them', async () => {
    const older = await insertEvents(1, SWEEP_GRACE_MS + 60_000);
    const old = await insertEvents(1, SWEEP_GRACE_MS + 5_000);
    const fresh = await insertEvents(1, 1_000);
    await insertEvents(1, SWEEP_GRACE_MS + 90_000, Date.now() - 80_000);
    const sendBatch = vi.spyOn(env.EVENTS, 'sendBatch');

    expect(await sweep()).toStrictEqual({ published: 2, set_aside: 0, backlog: false });
    expect(sentIds(sendBatch)).toStrictEqual([...older, ...old]);
    // A row still in its grace period may be on its way from its own request; a published one is done.
    expect(await unpublished()).toStrictEqual(fresh);
  });

  it('sends at most SWEEP_LIMIT rows per run, in queue batches of 100, and the rest on the next run', async () => {
    await insertEvents(SWEEP_LIMIT + 1, SWEEP_GRACE_MS + 60_000);
    const sendBatch = vi.spyOn(env.EVENTS, 'sendBatch');
    expect(await sweep()).toStrictEqual({ published: SWEEP_LIMIT, set_aside: 0, backlog: true });
    expect(sendBatch.mock.calls.map(([messages]) => [...messages].length)).toStrictEqual([
      100, 100, 100, 100, 100,
    ]);
    expect(await unpublished()).toHaveLength(1);
    expect(await sweep()).toStrictEqual({ published: 1, set_aside: 0, backlog: false });
    expect(await sweep()).toStrictEqual({ published: 0, set_aside: 0, backlog: false });
  });

  it('leaves rows unstamped when the queue refuses them, for the next run', async () => {
    const ids = await insertEvents(2, SWEEP_GRACE_MS + 60_000);
    vi.spyOn(env.EVENTS, 'sendBatch').mockRejectedValueOnce(new Error('queue unavailable'));
    await expect(sweep()).rejects.toThrow('queue unavailable');
    expect(await unpublished()).toStrictEqual(ids);
    expect(await sweep()).toStrictEqual({ published: 2, set_aside: 0, backlog: false });
  });

  it('runs every minute from the cron trigger', async () => {
    const ids = await insertEvents(1, SWEEP_GRACE_MS + 60_000);
    const logs = vi.spyOn(console, 'log');
    await worker.scheduled(createScheduledController({ cron: '* * * * *' }), env, createExecutionContext());
    expect(await unpublished()).toStrictEqual([]);
    expect(logs.mock.calls.map(([line]) => JSON.parse(String(line)))).toContainEqual(
      expect.objectContaining({ msg: 'job', job: 'outbox-sweep', published: ids.length, status: 'ok' }),
    );
  });
});

describe('the outbox sweep and the queue’s size limits', () => {
  /** An order.created payload of `lines` lines with long titles: ten lines make an envelope of about 3 KB. */
  const order = (id: string, lines: number) => ({
    id,
    customer_id: null,
    email: 'shopper@example.com',
    locale: 'en',
    region: 'eu',
    country: 'DE',
    currency: 'EUR',
    subtotal: 1_000 * lines,
    discount_total: 0,
    shipping_total: 0,
    tax_total: 0,
    total: 1_000 * lines,
    items: Array.from({ length: lines }, (_, i) => ({
      variant_id: `var_${i}`,
      sku: `SKU-${i}`,
      title: `${'Organic cotton crew-neck T-shirt, relaxed fit, garment dyed '.repeat(4)}(${i})`,
      quantity: 1,
      unit_price: 1_000,
      total: 1_000,
    })),
  });

  /** order.created rows past the grace period, in this order, one per entry of `lines`. */
  async function insertOrders(...lines: number[]): Promise<string[]> {
    const ids = lines.map((_, i) => `evt_order_${String(i).padStart(3, '0')}_${crypto.randomUUID()}`);
    const statements = ids.map((id, i) =>
      env.DB.prepare(
        `INSERT INTO outbox_events (id, type, aggregate_type, aggregate_id, payload, actor_type, actor_id, occurred_at)
         VALUES (?, 'order.created', 'order', ?, ?, 'system', 'test', unixepoch('subsec') * 1000 - ? + ?)`,
      ).bind(id, `ord_${i}`, JSON.stringify(order(`ord_${i}`, lines[i] ?? 1)), SWEEP_GRACE_MS + 60_000, i),
    );
    for (let i = 0; i < statements.length; i += 50) await env.DB.batch(statements.slice(i, i + 50));
    return ids;
  }

  /** What each sendBatch carried against the queue's 256 KB: its bodies plus about 100 bytes of metadata each. */
  const batchBytes = (spy: { mock: { calls: Parameters<Queue['sendBatch']>[] } }) =>
    spy.mock.calls.map(([messages]) =>
      [...messages].reduce(
        (sum, m) => sum + new TextEncoder().encode(JSON.stringify(m.body)).byteLength + 100,
        0,
      ),
    );

  it('sends 100 waiting order.created events of about 3 KB each in batches the queue accepts', async () => {
    const ids = await insertOrders(...new Array(100).fill(10));
    const sendBatch = vi.spyOn(env.EVENTS, 'sendBatch');

    // Together about 300 KB: more than one sendBatch may carry, so one batch would be refused on every run.
    expect(await sweep()).toStrictEqual({ published: 100, set_aside: 0, backlog: false });
    expect(sentIds(sendBatch)).toStrictEqual(ids);
    expect(sendBatch.mock.calls.length).toBeGreaterThan(1);
    for (const bytes of batchBytes(sendBatch)) expect(bytes).toBeLessThanOrEqual(256_000);
    expect(await unpublished()).toStrictEqual([]);
  });

  it('sets an event too large for the queue aside as a dead letter, logged, and sends the ones behind it', async () => {
    const key = (await insertSecretKey(['webhooks:manage'])).key;
    // 500 lines: an envelope of about 150 KB, over the queue's 128 KB per message.
    const [before, tooLarge, after] = await insertOrders(10, 500, 10);
    const sendBatch = vi.spyOn(env.EVENTS, 'sendBatch');
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);

    expect(await sweep()).toStrictEqual({ published: 2, set_aside: 1, backlog: false });
    expect(sentIds(sendBatch)).toStrictEqual([before, after]);
    expect(await unpublished()).toStrictEqual([]);
    expect(errors.mock.calls.map(([line]) => JSON.parse(String(line)))).toContainEqual(
      expect.objectContaining({
        msg: 'event too large for the event queue; set aside as a dead letter',
        event_id: tooLarge,
        event_type: 'order.created',
      }),
    );

    // Staff see it among the dead letters; a replay would be refused by the queue, so it is refused here.
    const list = await call('/v1/admin/events/dead-letters?event_type=order.created', {
      headers: bearer(key),
    });
    const { data } = (await list.json()) as { data: { id: string; event_id: string }[] };
    const letter = data.find((d) => d.event_id === tooLarge);
    expect(letter).toMatchObject({
      event_type: 'order.created',
      failures: [
        {
          consumer: null,
          error: expect.stringMatching(/^too large for the event queue: \d+ bytes, at most 128000$/),
        },
      ],
      attempts: 0,
      replay_count: 0,
    });
    const replay = () =>
      call(`/v1/admin/events/dead-letters/${letter?.id}/replay`, { method: 'POST', headers: bearer(key) });
    await expectProblem(await expectNoWrites(replay), 409, 'event_not_replayable');
    expect(await sweep()).toStrictEqual({ published: 0, set_aside: 0, backlog: false });
  });
});

describe('outbox retention', () => {
  it('deletes password reset requests older than a week, and nothing else', async () => {
    const insert = (id: string, type: string, aggregateType: string, payload: string, ageMs: number) =>
      env.DB.prepare(
        `INSERT INTO outbox_events (id, type, aggregate_type, aggregate_id, payload, actor_type, actor_id, occurred_at, published_at)
         VALUES (?, ?, ?, ?, ?, 'anonymous', 'anonymous', unixepoch('subsec') * 1000 - ?, unixepoch('subsec') * 1000 - ?)`,
      )
        .bind(id, type, aggregateType, `agg_${id}`, payload, ageMs, ageMs)
        .run();
    const reset = JSON.stringify({ email: 'someone@example.com' });
    const week = RESET_REQUEST_RETENTION_MS;
    await insert('evt_old_reset', 'password_reset.requested', 'password_reset', reset, week + 60_000);
    await insert('evt_recent_reset', 'password_reset.requested', 'password_reset', reset, week - 60_000);
    await insert('evt_old_customer', 'customer.created', 'customer', '{"id":"cus_1"}', week + 60_000);

    expect(await pruneResetRequests(env)).toStrictEqual({ deleted: 1, dead_letters_deleted: 0 });
    const left = await env.DB.prepare('SELECT id FROM outbox_events ORDER BY id').all<{ id: string }>();
    expect(left.results.map((r) => r.id)).toStrictEqual(['evt_old_customer', 'evt_recent_reset']);
  });

  it('forgets the address of a reset request that was dead-lettered, a week after it was given up', async () => {
    await env.DB.prepare('DELETE FROM dead_letters').run();
    const insert = (id: string, type: string, data: unknown, ageMs: number) =>
      env.DB.prepare(
        `INSERT INTO dead_letters (id, message_id, event_id, event_type, envelope, failures, attempts, created_at)
         VALUES (?, ?, ?, ?, ?, '[]', 10, unixepoch('subsec') * 1000 - ?)`,
      )
        .bind(
          id,
          `msg_${id}`,
          `evt_${id}`,
          type,
          JSON.stringify({ id: `evt_${id}`, type, version: 1, data }),
          ageMs,
        )
        .run();
    const week = RESET_REQUEST_RETENTION_MS;
    await insert('dlq_old_reset', 'password_reset.requested', { email: 'typed@example.com' }, week + 60_000);
    await insert(
      'dlq_recent_reset',
      'password_reset.requested',
      { email: 'typed@example.com' },
      week - 60_000,
    );
    await insert('dlq_old_order', 'order.created', { id: 'ord_1' }, week + 60_000);

    const result = await pruneResetRequests(env);
    const left = await env.DB.prepare('SELECT id FROM dead_letters ORDER BY id').all<{ id: string }>();
    expect(left.results.map((r) => r.id)).toStrictEqual(['dlq_old_order', 'dlq_recent_reset']);
    expect(result).toStrictEqual({ deleted: 0, dead_letters_deleted: 1 });
  });
});
