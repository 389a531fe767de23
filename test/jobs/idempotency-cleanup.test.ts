/**
 * The idempotency cleanup job against real local D1: it deletes answers past their retention and lapsed locks of
 * requests that died, keeps everything still in force, and is scheduled on the every-minute cron.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { cleanUpIdempotencyRecords, runIdempotencyCleanupJob } from '../../src/jobs/idempotency-cleanup';
import { CRON_JOBS } from '../../src/jobs/schedule';

async function insertRecord(key: string, status: number, expiresAt: number) {
  await env.DB.prepare(
    `INSERT INTO idempotency_records (scope, key, request_hash, claim_id, status, body, expires_at)
     VALUES ('test', ?, 'hash', ?, ?, '', ?)`,
  )
    .bind(key, crypto.randomUUID(), status, expiresAt)
    .run();
}

async function keys(): Promise<string[]> {
  const { results } = await env.DB.prepare(
    "SELECT key FROM idempotency_records WHERE scope = 'test' ORDER BY key",
  ).all<{ key: string }>();
  return results.map((r) => r.key);
}

describe('idempotency cleanup job', () => {
  it('deletes expired answers and lapsed locks, and keeps the rest', async () => {
    const now = Date.now();
    await insertRecord('answer-expired', 201, now - 1);
    await insertRecord('answer-live', 201, now + 60_000);
    await insertRecord('lock-lapsed', 0, now);
    await insertRecord('lock-held', 0, now + 60_000);

    expect(await cleanUpIdempotencyRecords(env, now)).toStrictEqual({ deleted: 2, more: false });
    expect(await keys()).toStrictEqual(['answer-live', 'lock-held']);
  });

  it('deletes a large backlog in bounded rounds and says when rows are left for the next run', async () => {
    await env.DB.prepare("DELETE FROM idempotency_records WHERE scope = 'test'").run();
    const now = Date.now();
    const rows = 5_100;
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       INSERT INTO idempotency_records (scope, key, request_hash, claim_id, status, body, expires_at)
       SELECT 'test', 'k' || i, 'hash', 'c' || i, 201, '', ? FROM n`,
    )
      .bind(rows, now - 1)
      .run();

    expect(await cleanUpIdempotencyRecords(env, now)).toStrictEqual({ deleted: 5_000, more: true });
    expect(await cleanUpIdempotencyRecords(env, now)).toStrictEqual({ deleted: 100, more: false });
    expect(await keys()).toStrictEqual([]);
  });

  it('runs every minute', () => {
    expect(CRON_JOBS['* * * * *']).toContain(runIdempotencyCleanupJob);
  });
});
