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
import { SWEEP_GRACE_MS, SWEEP_LIMIT, sweepOutbox } from '../../src/jobs/outbox-sweep';

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

    expect(await sweepOutbox(env)).toStrictEqual({ published: 2, backlog: false });
    expect(sentIds(sendBatch)).toStrictEqual([...older, ...old]);
    // A row still in its grace period may be on its way from its own request; a published one is done.
    expect(await unpublished()).toStrictEqual(fresh);
  });

  it('sends at most SWEEP_LIMIT rows per run, in queue batches of 100, and the rest on the next run', async () => {
    await insertEvents(SWEEP_LIMIT + 1, SWEEP_GRACE_MS + 60_000);
    const sendBatch = vi.spyOn(env.EVENTS, 'sendBatch');
    expect(await sweepOutbox(env)).toStrictEqual({ published: SWEEP_LIMIT, backlog: true });
    expect(sendBatch.mock.calls.map(([messages]) => [...messages].length)).toStrictEqual([
      100, 100, 100, 100, 100,
    ]);
    expect(await unpublished()).toHaveLength(1);
    expect(await sweepOutbox(env)).toStrictEqual({ published: 1, backlog: false });
    expect(await sweepOutbox(env)).toStrictEqual({ published: 0, backlog: false });
  });

  it('leaves rows unstamped when the queue refuses them, for the next run', async () => {
    const ids = await insertEvents(2, SWEEP_GRACE_MS + 60_000);
    vi.spyOn(env.EVENTS, 'sendBatch').mockRejectedValueOnce(new Error('queue unavailable'));
    await expect(sweepOutbox(env)).rejects.toThrow('queue unavailable');
    expect(await unpublished()).toStrictEqual(ids);
    expect(await sweepOutbox(env)).toStrictEqual({ published: 2, backlog: false });
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

    expect(await pruneResetRequests(env)).toStrictEqual({ deleted: 1 });
    const left = await env.DB.prepare('SELECT id FROM outbox_events ORDER BY id').all<{ id: string }>();
    expect(left.results.map((r) => r.id)).toStrictEqual(['evt_old_customer', 'evt_recent_reset']);
  });
});
