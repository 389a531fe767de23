/**
 * The one write path (src/lib/commit.ts): a change, its audit entry, its outbox events and its idempotency record
 * commit together or not at all, and nothing after the batch turns a committed write into an error.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { products } from '../../src/db/schema';
import { systemCaller } from '../../src/lib/caller';
import { commit } from '../../src/lib/commit';
import { createDb } from '../../src/lib/db';
import { AppError } from '../../src/lib/errors';
import { newId } from '../../src/lib/ids';

const db = createDb(env.DB);
const token = () => crypto.randomUUID().slice(0, 12);

async function bookkeepingOf(requestId: string) {
  const audit = await env.DB.prepare(
    'SELECT actor_type, actor_id, action, target_type, target_id, changes FROM audit_log WHERE request_id = ?',
  )
    .bind(requestId)
    .all();
  const events = await env.DB.prepare(
    'SELECT type, aggregate_type, aggregate_id, payload, actor_type, actor_id, published_at FROM outbox_events WHERE request_id = ?',
  )
    .bind(requestId)
    .all();
  const idempotency = await env.DB.prepare(
    'SELECT scope, key, status, body FROM idempotency_records WHERE key = ?',
  )
    .bind(requestId)
    .all();
  return { audit: audit.results, events: events.results, idempotency: idempotency.results };
}

function productChange(id: string, handle: string, requestId: string) {
  return {
    statements: [db.insert(products).values({ id, handle })],
    audit: { action: 'product.create', targetType: 'product', targetId: id, changes: { handle } },
    events: [
      {
        type: 'product.created' as const,
        aggregateType: 'product' as const,
        aggregateId: id,
        payload: { id },
      },
    ],
    idempotency: {
      scope: 'system:test',
      key: requestId,
      requestHash: 'hash',
      claimId: crypto.randomUUID(),
      status: 201,
      body: JSON.stringify({ id }),
      expiresAt: new Date(Date.now() + 86_400_000),
    },
  };
}

afterEach(() => vi.restoreAllMocks());

describe('commit()', () => {
  it('writes the change with its audit entry, outbox event and idempotency record, attributed to the caller', async () => {
    const runId = `run-${token()}`;
    const id = newId('prod');
    const handle = `commit-${token()}`;
    await commit(db, systemCaller('importer', runId), productChange(id, handle, runId));

    expect(await env.DB.prepare('SELECT handle FROM products WHERE id = ?').bind(id).first()).toStrictEqual({
      handle,
    });
    expect(await bookkeepingOf(runId)).toStrictEqual({
      audit: [
        {
          actor_type: 'system',
          actor_id: 'importer',
          action: 'product.create',
          target_type: 'product',
          target_id: id,
          changes: JSON.stringify({ handle }),
        },
      ],
      events: [
        {
          type: 'product.created',
          aggregate_type: 'product',
          aggregate_id: id,
          payload: JSON.stringify({ id }),
          actor_type: 'system',
          actor_id: 'importer',
          published_at: null,
        },
      ],
      idempotency: [{ scope: 'system:test', key: runId, status: 201, body: JSON.stringify({ id }) }],
    });
  });

  it('leaves no audit entry, event or idempotency record when a statement of the batch fails', async () => {
    const runId = `run-${token()}`;
    const taken = `taken-${token()}`;
    await db.insert(products).values({ id: newId('prod'), handle: taken });
    const id = newId('prod');
    const failing = productChange(id, taken, runId);

    await expect(commit(db, systemCaller('importer', runId), failing)).rejects.toThrow();

    expect(await env.DB.prepare('SELECT id FROM products WHERE id = ?').bind(id).first()).toBeNull();
    expect(await bookkeepingOf(runId)).toStrictEqual({ audit: [], events: [], idempotency: [] });
  });

  it('answers a lost race with the re-check’s 4xx and writes nothing', async () => {
    const runId = `run-${token()}`;
    const taken = `raced-${token()}`;
    await db.insert(products).values({ id: newId('prod'), handle: taken });
    const conflict = new AppError(409, 'handle_taken', 'taken');
    const change = {
      ...productChange(newId('prod'), taken, runId),
      recheck: async () => {
        throw conflict;
      },
    };
    await expect(commit(db, systemCaller('importer', runId), change)).rejects.toBe(conflict);
    expect(await bookkeepingOf(runId)).toStrictEqual({ audit: [], events: [], idempotency: [] });
  });

  it('never lets a failing follow-up undo or fail a committed write; it retries, then logs', async () => {
    const runId = `run-${token()}`;
    const id = newId('prod');
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    let attempts = 0;
    const followUp = {
      name: 'test.always_fails',
      run: async () => {
        attempts++;
        throw new Error('KV is down');
      },
    };

    const results = await commit(db, systemCaller('importer', runId), {
      ...productChange(id, `follow-${token()}`, runId),
      afterCommit: [followUp],
    });

    expect(results).toHaveLength(1);

    expect(attempts).toBe(3);
    expect(await env.DB.prepare('SELECT id FROM products WHERE id = ?').bind(id).first()).toStrictEqual({
      id,
    });
    expect((await bookkeepingOf(runId)).audit).toHaveLength(1);
    const logged = errors.mock.calls.map(([line]) => JSON.parse(String(line)));
    expect(logged).toContainEqual(
      expect.objectContaining({
        level: 'error',
        msg: 'follow-up failed after commit',
        request_id: runId,
        follow_up: 'test.always_fails',
        attempts: 3,
        reason: 'KV is down',
      }),
    );
  });

  it('writes no bookkeeping and runs no follow-up when a conditional change finds its row already gone', async () => {
    const runId = `run-${token()}`;
    const id = newId('prod');
    let followUps = 0;
    const results = await commit(db, systemCaller('importer', runId), {
      ...productChange(id, `never-${token()}`, runId),
      statements: [db.delete(products).where(eq(products.id, id)).returning({ id: products.id })],
      conditional: true,
      afterCommit: [{ name: 'test.count', run: async () => void followUps++ }],
    });
    expect(results).toStrictEqual([[]]);
    expect(followUps).toBe(0);
    expect(await bookkeepingOf(runId)).toStrictEqual({ audit: [], events: [], idempotency: [] });
  });

  it('writes the bookkeeping of a conditional change that did change its row', async () => {
    const runId = `run-${token()}`;
    const id = newId('prod');
    await db.insert(products).values({ id, handle: `gone-${token()}` });
    let followUps = 0;
    const results = await commit(db, systemCaller('importer', runId), {
      ...productChange(id, 'unused', runId),
      statements: [db.delete(products).where(eq(products.id, id)).returning({ id: products.id })],
      conditional: true,
      afterCommit: [{ name: 'test.count', run: async () => void followUps++ }],
    });
    expect(results).toStrictEqual([[{ id }]]);
    expect(followUps).toBe(1);
    const written = await bookkeepingOf(runId);
    expect([written.audit.length, written.events.length, written.idempotency.length]).toStrictEqual([
      1, 1, 1,
    ]);
  });

  it('refuses an audit entry that names nobody, before writing anything', async () => {
    const runId = `run-${token()}`;
    const id = newId('prod');
    const anonymous = {
      actor: { type: 'anonymous' as const, id: 'anonymous' },
      meta: systemCaller('x', runId).meta,
    };
    await expect(commit(db, anonymous, productChange(id, `anon-${token()}`, runId))).rejects.toThrow(
      'audit entry product.create needs a known actor',
    );
    expect(await env.DB.prepare('SELECT id FROM products WHERE id = ?').bind(id).first()).toBeNull();
  });
});
