/**
 * The webhook delivery retention job against real local D1: finished deliveries (succeeded, failed, canceled)
 * a month past their completion go with their attempts; pending ones and recent ones stay; a run deletes at most
 * DELIVERY_PRUNE_LIMIT through the completed index; it logs one job line and runs every minute.
 */
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CRON_JOBS } from '../../src/jobs/schedule';
import { runWebhookDeliveryRetentionJob } from '../../src/jobs/webhook-delivery-retention';
import { createDb } from '../../src/lib/db';
import {
  DELIVERY_PRUNE_LIMIT,
  FINISHED_DELIVERY_RETENTION_MS,
  finishedDeliveriesBefore,
  pruneFinishedDeliveries,
} from '../../src/modules/webhooks/retention';
import { logLines } from '../helpers/request-cost';
import { unique } from '../helpers/unique';

const DAY = 86_400_000;
const NOW = new Date('2026-11-30T12:00:00Z');
const expiredAt = NOW.getTime() - FINISHED_DELIVERY_RETENTION_MS - 1;

afterEach(() => {
  vi.restoreAllMocks();
});

async function insertEndpoint(): Promise<string> {
  const id = unique('whe');
  await env.DB.prepare(
    `INSERT INTO webhook_endpoints (id, url, event_types, secret_encrypted)
     VALUES (?, 'https://hooks.example.com/in', '["*"]', 'not read here')`,
  )
    .bind(id)
    .run();
  return id;
}

/** A delivery created a day before it finished (or, pending, due at `completedAt`'s time), with `attempts` rows. */
async function insertDelivery(
  endpointId: string,
  status: 'pending' | 'succeeded' | 'failed' | 'canceled',
  at: number,
  attempts: number,
): Promise<string> {
  const id = unique('whd');
  const pending = status === 'pending';
  await env.DB.prepare(
    `INSERT INTO webhook_deliveries
       (id, endpoint_id, event_id, event_type, origin, payload, status, attempt_count, next_attempt_at,
        created_at, completed_at)
     VALUES (?, ?, ?, 'order.paid', 'event', '{}', ?, ?, ?, ?, ?)`,
  )
    .bind(id, endpointId, unique('evt'), status, attempts, pending ? at : null, at - DAY, pending ? null : at)
    .run();
  for (let attempt = 1; attempt <= attempts; attempt++) {
    await env.DB.prepare(
      `INSERT INTO webhook_delivery_attempts (id, delivery_id, attempt, attempted_at, latency_ms, response_status)
       VALUES (?, ?, ?, ?, 12, 500)`,
    )
      .bind(unique('wha'), id, attempt, at)
      .run();
  }
  return id;
}

async function rowsOf(endpointId: string) {
  const deliveries = await env.DB.prepare(
    'SELECT id FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY id',
  )
    .bind(endpointId)
    .all<{ id: string }>();
  const attempts = await env.DB.prepare(
    `SELECT a.delivery_id AS id, count(*) AS n FROM webhook_delivery_attempts a
     WHERE a.delivery_id IN (SELECT id FROM webhook_deliveries WHERE endpoint_id = ?)
     GROUP BY a.delivery_id ORDER BY a.delivery_id`,
  )
    .bind(endpointId)
    .all<{ id: string; n: number }>();
  return { deliveries: deliveries.results.map((r) => r.id), attempts: attempts.results };
}

async function allAttemptCount(): Promise<number> {
  const row = await env.DB.prepare('SELECT count(*) AS n FROM webhook_delivery_attempts').first<{
    n: number;
  }>();
  return row?.n ?? 0;
}

describe('webhook delivery retention', () => {
  it('deletes finished deliveries a month past completion with their attempts, and keeps the rest', async () => {
    const endpoint = await insertEndpoint();
    const succeeded = await insertDelivery(endpoint, 'succeeded', expiredAt, 1);
    const failed = await insertDelivery(endpoint, 'failed', expiredAt, 8);
    const canceled = await insertDelivery(endpoint, 'canceled', expiredAt - 90 * DAY, 2);
    // Still retrying after all this time: its attempts are its schedule's history.
    const pending = await insertDelivery(endpoint, 'pending', expiredAt - 90 * DAY, 3);
    // Finished exactly at the window's edge, and a day ago.
    const atEdge = await insertDelivery(endpoint, 'failed', expiredAt + 1, 8);
    const recent = await insertDelivery(endpoint, 'succeeded', NOW.getTime() - DAY, 1);
    const attemptsBefore = await allAttemptCount();

    expect(await pruneFinishedDeliveries(env, NOW)).toStrictEqual({ deleted: 3 });

    const kept = [pending, atEdge, recent].sort();
    expect(await rowsOf(endpoint)).toStrictEqual({
      deliveries: kept,
      attempts: [
        { id: pending, n: 3 },
        { id: atEdge, n: 8 },
        { id: recent, n: 1 },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    });
    expect(await allAttemptCount()).toBe(attemptsBefore - 11);
    for (const gone of [succeeded, failed, canceled]) {
      const orphans = await env.DB.prepare(
        'SELECT count(*) AS n FROM webhook_delivery_attempts WHERE delivery_id = ?',
      )
        .bind(gone)
        .first<{ n: number }>();
      expect(orphans?.n).toBe(0);
    }

    // Nothing left to do: a second run deletes nothing.
    expect(await pruneFinishedDeliveries(env, NOW)).toStrictEqual({ deleted: 0 });
  });

  it(`deletes at most ${DELIVERY_PRUNE_LIMIT} deliveries a run and drains a backlog over the next runs`, async () => {
    const endpoint = await insertEndpoint();
    const backlog = DELIVERY_PRUNE_LIMIT + 20;
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       INSERT INTO webhook_deliveries
         (id, endpoint_id, event_id, event_type, origin, payload, status, attempt_count, created_at, completed_at)
       SELECT ? || '_' || i, ?, 'evt_backlog_' || i, 'order.paid', 'event', '{}', 'succeeded', 1, ?, ?
       FROM n`,
    )
      .bind(backlog, endpoint, endpoint, expiredAt - DAY, expiredAt)
      .run();

    expect(await pruneFinishedDeliveries(env, NOW)).toStrictEqual({ deleted: DELIVERY_PRUNE_LIMIT });
    expect((await rowsOf(endpoint)).deliveries).toHaveLength(20);
    expect(await pruneFinishedDeliveries(env, NOW)).toStrictEqual({ deleted: 20 });
    expect((await rowsOf(endpoint)).deliveries).toStrictEqual([]);
  });

  it('finds expired deliveries through webhook_deliveries_completed_idx, not a scan', async () => {
    const query = finishedDeliveriesBefore(createDb(env.DB), NOW).toSQL();
    const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${query.sql}`)
      .bind(...query.params)
      .all<{ detail: string }>();
    expect(results.map((r) => r.detail)).toStrictEqual([
      'SEARCH webhook_deliveries USING INDEX webhook_deliveries_completed_idx (completed_at<?)',
    ]);
  });

  it('logs one job line with what it deleted, and runs every minute', async () => {
    const endpoint = await insertEndpoint();
    const old = await insertDelivery(
      endpoint,
      'succeeded',
      Date.now() - FINISHED_DELIVERY_RETENTION_MS - DAY,
      1,
    );
    const log = vi.spyOn(console, 'log');

    await runWebhookDeliveryRetentionJob(env);

    expect(logLines(log).filter((l) => l.job === 'webhook-delivery-retention')).toStrictEqual([
      expect.objectContaining({ msg: 'job', status: 'ok', deleted: 1 }),
    ]);
    expect((await rowsOf(endpoint)).deliveries).not.toContain(old);
    expect(CRON_JOBS['* * * * *']).toContain(runWebhookDeliveryRetentionJob);
  });
});
