/**
 * The catalog-version reconcile job against real local D1 and KV: a committed catalog event the version has not
 * seen yet makes it bump the version; otherwise it leaves the version alone. Every run writes one log line.
 */
import { createExecutionContext, createScheduledController } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import worker from '../../src/index';
import {
  CATALOG_AGGREGATE_TYPES,
  CATALOG_VERSION_JOB,
  NEWEST_CATALOG_EVENT_SQL,
  runCatalogVersionJob,
} from '../../src/jobs/catalog-version';
import { runJob } from '../../src/jobs/run-job';
import { catalogVersionBumpedAt } from '../../src/lib/catalog-version';
import { KV_KEYS } from '../../src/lib/kv-keys';

/** Commits an outbox event the way commit() does, with plain SQL; occurred_at defaults to D1's clock. */
async function insertEvent(aggregateType: string, occurredAt?: number): Promise<number> {
  const id = `evt_${crypto.randomUUID()}`;
  const columns = occurredAt === undefined ? '' : ', occurred_at';
  const values = occurredAt === undefined ? '' : ', ?';
  await env.DB.prepare(
    `INSERT INTO outbox_events (id, type, aggregate_type, aggregate_id, payload, actor_type, actor_id${columns})
     VALUES (?, ?, ?, ?, '{}', 'system', 'test'${values})`,
  )
    .bind(
      id,
      `${aggregateType}.updated`,
      aggregateType,
      `${aggregateType}_1`,
      ...(occurredAt === undefined ? [] : [occurredAt]),
    )
    .run();
  const row = await env.DB.prepare('SELECT occurred_at FROM outbox_events WHERE id = ?')
    .bind(id)
    .first<{ occurred_at: number }>();
  if (!row) throw new Error('event not stored');
  return row.occurred_at;
}

/** Fires a cron trigger at the Worker's `scheduled` entry, as the platform does. */
function trigger(cron: string): Promise<void> {
  return worker.scheduled(createScheduledController({ cron }), env, createExecutionContext());
}

/** Sets the catalog version as a bump at `bumpedAt` would have left it. */
async function setVersion(value: string, bumpedAt: number) {
  await env.KV.put(KV_KEYS.catalogVersion, value, { metadata: { bumpedAt } });
}

/** The JSON lines a console method was called with. */
function linesOf(spy: { mock: { calls: unknown[][] } }): Record<string, unknown>[] {
  return spy.mock.calls
    .map(([line]) => String(line))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

beforeEach(async () => {
  // Tests in one file share storage: each starts from an empty outbox.
  await env.DB.prepare('DELETE FROM outbox_events').run();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('catalog version reconcile job', () => {
  it('bumps the version when a catalog event is newer than the last bump', async () => {
    const occurredAt = await insertEvent('product');
    await setVersion('v-before', occurredAt - 1);

    await trigger('* * * * *');

    expect(await env.KV.get(KV_KEYS.catalogVersion)).not.toBe('v-before');
    expect(await catalogVersionBumpedAt(env.KV)).toBeGreaterThanOrEqual(occurredAt);
  });

  it('bumps for every catalog aggregate type', async () => {
    for (const type of CATALOG_AGGREGATE_TYPES) {
      await env.DB.prepare('DELETE FROM outbox_events').run();
      const occurredAt = await insertEvent(type);
      await setVersion(`v-${type}`, occurredAt - 1);
      await runCatalogVersionJob(env);
      expect(await env.KV.get(KV_KEYS.catalogVersion), type).not.toBe(`v-${type}`);
    }
  });

  it('leaves the version alone when no catalog event is newer', async () => {
    const older = await insertEvent('category');
    const atTheBump = await insertEvent('collection', older + 5);
    // Events of other aggregates do not change the catalog.
    await insertEvent('customer', atTheBump + 1_000);
    await setVersion('v-current', atTheBump);

    await trigger('* * * * *');

    expect(await env.KV.get(KV_KEYS.catalogVersion)).toBe('v-current');
    expect(await catalogVersionBumpedAt(env.KV)).toBe(atTheBump);
  });

  it('bumps when the version was never bumped with a recorded time', async () => {
    await insertEvent('region');
    await env.KV.put(KV_KEYS.catalogVersion, 'v-legacy');

    await runCatalogVersionJob(env);

    expect(await env.KV.get(KV_KEYS.catalogVersion)).not.toBe('v-legacy');
  });

  it('finds the newest event with a range seek on outbox_events_aggregate_idx', async () => {
    const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${NEWEST_CATALOG_EVENT_SQL}`)
      .bind(...CATALOG_AGGREGATE_TYPES, 0)
      .all<{ detail: string }>();
    expect(results.map((r) => r.detail)).toStrictEqual([
      'SEARCH outbox_events USING COVERING INDEX outbox_events_aggregate_idx (aggregate_type=? AND occurred_at>?)',
    ]);
  });

  it('writes one log line per run with the job, run id, status and duration', async () => {
    const occurredAt = await insertEvent('variant');
    await setVersion('v-logged', occurredAt - 1);
    const log = vi.spyOn(console, 'log');

    await runCatalogVersionJob(env);

    const lines = linesOf(log).filter((l) => l.job === CATALOG_VERSION_JOB);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toStrictEqual({
      level: 'info',
      msg: 'job',
      time: expect.any(String),
      job: CATALOG_VERSION_JOB,
      run_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status: 'ok',
      duration_ms: expect.any(Number),
      bumped: true,
      event_at: occurredAt,
      previous_bump_at: occurredAt - 1,
    });
  });

  it('logs a failing job with its error and rethrows it', async () => {
    const error = vi.spyOn(console, 'error');
    const failure = new Error('query failed', { cause: new Error('D1_ERROR: no such table: outbox_events') });

    await expect(
      runJob('failing-job', async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);

    const lines = linesOf(error).filter((l) => l.job === 'failing-job');
    expect(lines).toStrictEqual([
      {
        level: 'error',
        msg: 'job',
        time: expect.any(String),
        job: 'failing-job',
        run_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        status: 'error',
        duration_ms: expect.any(Number),
        error: 'Error',
        reason: 'D1_ERROR: no such table: outbox_events',
        frames: expect.any(String),
      },
    ]);
  });

  it('fails a cron trigger that has no jobs, so the platform records it', async () => {
    await expect(trigger('0 0 * * *')).rejects.toThrow('No jobs are scheduled for cron "0 0 * * *"');
  });
});
