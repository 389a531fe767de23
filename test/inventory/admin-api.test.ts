/**
 * The staff inventory API through the Worker: the contract shape, every change journaled in D1 (ledger row,
 * audit entry, events, stock level) by the time it answers, permissions, unknown variants and bad input.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../../src/lib/permissions';
import { reserveStock } from '../../src/modules/inventory/stock';
import { insertSecretKey, snapshotD1 } from '../helpers/admin';
import { admin, catalogVersion, createProduct, ensureCurrencySold, rows } from '../helpers/admin-fixtures';
import { bearer, call, expectProblem, jsonInit } from '../helpers/http';
import { unique } from '../helpers/unique';
import { ns } from './helpers';

const withKey = (key: string) => ({ headers: { 'Idempotency-Key': key } });

const ADJ_ID = expect.stringMatching(/^adj_[0-9A-Z]{26}$/);

beforeAll(async () => {
  await ensureCurrencySold('EUR');
});

/** A fresh variant in D1, through the admin API. */
async function variant() {
  const product = await createProduct();
  const [v] = product.variants;
  if (!v) throw new Error('fixture product has no variant');
  return { id: v.id, sku: v.sku, productId: product.id };
}

const inventory = (v: { id: string; sku: string }, figures: Record<string, unknown> = {}) => ({
  variant_id: v.id,
  sku: v.sku,
  on_hand: 0,
  reserved: 0,
  available: 0,
  low_stock_threshold: 0,
  backorder: 'deny',
  level: 'out_of_stock',
  reservation_count: 0,
  ...figures,
});

/** What D1 holds about a variant's stock: ledger rows, audit entries, events and its level. */
async function journalOf(variantId: string) {
  const [changes, audit, events, levels] = await Promise.all([
    rows(
      `SELECT id, kind, delta, on_hand_before, on_hand_after, settings, reason, actor_type, request_id
       FROM inventory_changes WHERE variant_id = ? ORDER BY changed_at, rowid`,
      variantId,
    ),
    rows(
      `SELECT actor_type, action, target_type, changes, request_id FROM audit_log
       WHERE target_id = ? ORDER BY created_at, rowid`,
      variantId,
    ),
    rows(
      `SELECT type, aggregate_type, payload, actor_type, actor_id, request_id FROM outbox_events
       WHERE aggregate_id = ? ORDER BY occurred_at, rowid`,
      variantId,
    ),
    rows('SELECT level, seq FROM stock_levels WHERE variant_id = ?', variantId),
  ]);
  const parse = (list: Record<string, unknown>[], field: string) =>
    list.map((row) => ({ ...row, [field]: row[field] === null ? null : JSON.parse(String(row[field])) }));
  return {
    changes: parse(changes, 'settings'),
    audit: parse(audit, 'changes'),
    events: parse(events, 'payload'),
    levels,
  };
}

describe('GET /v1/admin/inventory/{variant_id}', () => {
  it('answers a variant never stocked with zeros and out_of_stock, writing nothing', async () => {
    const v = await variant();
    const before = await snapshotD1();
    const res = await admin('GET', `/inventory/${v.id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual(inventory(v));
    const after = await snapshotD1();
    expect({ ...after, api_keys: [] }).toStrictEqual({ ...before, api_keys: [] });
  });

  it('is 404 for a variant that does not exist', async () => {
    await expectProblem(await admin('GET', '/inventory/var_01ZZZZZZZZZZZZZZZZZZZZZZZZ'), 404, 'not_found');
  });

  it('shows the SKU the catalog holds now, after a rename', async () => {
    const v = await variant();
    const sku = unique('RENAMED');
    expect((await admin('PATCH', `/variants/${v.id}`, { sku })).status).toBe(200);
    expect(await (await admin('GET', `/inventory/${v.id}`)).json()).toMatchObject({ sku });
  });
});

describe('PUT /v1/admin/inventory/{variant_id}', () => {
  it('sets on hand and answers the contract shape, with the ledger, audit, events and level in D1', async () => {
    const v = await variant();
    const version = await catalogVersion();
    const res = await admin('PUT', `/inventory/${v.id}`, { on_hand: 40, reason: 'Cycle count' });
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual(inventory(v, { on_hand: 40, available: 40, level: 'in_stock' }));
    const requestId = res.headers.get('X-Request-Id');
    const journal = await journalOf(v.id);
    expect(journal.changes).toStrictEqual([
      {
        id: ADJ_ID,
        kind: 'set_on_hand',
        delta: 40,
        on_hand_before: 0,
        on_hand_after: 40,
        settings: null,
        reason: 'Cycle count',
        actor_type: 'secret_key',
        request_id: requestId,
      },
    ]);
    const changeId = journal.changes[0]?.id;
    expect(journal.audit).toStrictEqual([
      {
        actor_type: 'secret_key',
        action: 'inventory.set_on_hand',
        target_type: 'inventory',
        changes: { change_id: changeId, reason: 'Cycle count', row: { on_hand: { from: 0, to: 40 } } },
        request_id: requestId,
      },
    ]);
    expect(journal.events).toStrictEqual([
      {
        type: 'inventory.adjusted',
        aggregate_type: 'inventory',
        payload: {
          variant_id: v.id,
          sku: v.sku,
          change_id: changeId,
          reason: 'Cycle count',
          kind: 'set_on_hand',
          delta: 40,
          on_hand_before: 0,
          on_hand: 40,
        },
        actor_type: 'secret_key',
        actor_id: expect.stringMatching(/^key_/),
        request_id: requestId,
      },
    ]);
    expect(journal.levels).toStrictEqual([{ level: 'in_stock', seq: 1 }]);
    // Stock is not catalog: the edge cache keeps every cached catalog response.
    expect(await catalogVersion()).toBe(version);
  });

  it('subtracts what carts hold, and raises out_of_stock when a count leaves nothing available', async () => {
    const v = await variant();
    await admin('PUT', `/inventory/${v.id}`, { on_hand: 5, reason: 'Delivery' });
    await reserveStock(ns(), v.id, { reservationId: 'line_1', owner: 'cart_1', quantity: 3, ttlMs: 900_000 });
    const res = await admin('PUT', `/inventory/${v.id}`, { on_hand: 3, reason: 'Two broken' });
    expect(await res.json()).toStrictEqual(
      inventory(v, { on_hand: 3, reserved: 3, available: 0, reservation_count: 1 }),
    );
    const { events, levels } = await journalOf(v.id);
    expect(events.map((e) => e.type)).toStrictEqual([
      'inventory.adjusted',
      'inventory.adjusted',
      'inventory.out_of_stock',
    ]);
    expect(events[2]).toStrictEqual({
      type: 'inventory.out_of_stock',
      aggregate_type: 'inventory',
      payload: {
        variant_id: v.id,
        sku: v.sku,
        level: 'out_of_stock',
        previous_level: 'in_stock',
        available: 0,
        seq: 2,
      },
      actor_type: 'system',
      actor_id: 'inventory-item',
      request_id: `${v.id}:level:2`,
    });
    expect(levels).toStrictEqual([{ level: 'out_of_stock', seq: 2 }]);
  });

  it('refuses bad input with 422 and a pointer per field, changing nothing', async () => {
    const v = await variant();
    const before = await snapshotD1();
    await expectProblem(
      await admin('PUT', `/inventory/${v.id}`, { on_hand: -1, reason: '' }),
      422,
      'validation_failed',
      [
        { pointer: '/body/on_hand', message: expect.any(String) },
        { pointer: '/body/reason', message: expect.any(String) },
      ],
    );
    await expectProblem(
      await admin('PUT', `/inventory/${v.id}`, { on_hand: 1.5, reason: 'x', extra: true }),
      422,
      'validation_failed',
      [
        { pointer: '/body/on_hand', message: expect.any(String) },
        { pointer: '/body/extra', message: 'Unknown field' },
      ],
    );
    await expectProblem(await admin('PUT', `/inventory/${v.id}`, { on_hand: 1 }), 422, 'validation_failed', [
      { pointer: '/body/reason', message: expect.any(String) },
    ]);
    await expectProblem(
      await admin('PUT', `/inventory/${'x'.repeat(65)}`, { on_hand: 1, reason: 'x' }),
      422,
      'validation_failed',
      [{ pointer: '/path/variant_id', message: expect.any(String) }],
    );
    const after = await snapshotD1();
    expect({ ...after, api_keys: [] }).toStrictEqual({ ...before, api_keys: [] });
  });

  it('is 404 for a variant that does not exist, and nothing is written', async () => {
    const before = await snapshotD1();
    await expectProblem(
      await admin('PUT', '/inventory/var_01ZZZZZZZZZZZZZZZZZZZZZZZZ', { on_hand: 1, reason: 'x' }),
      404,
      'not_found',
    );
    const after = await snapshotD1();
    expect({ ...after, api_keys: [] }).toStrictEqual({ ...before, api_keys: [] });
  });
});

describe('POST /v1/admin/inventory/{variant_id}/adjustments', () => {
  it('adds or removes units with a reason, each change journaled', async () => {
    const v = await variant();
    await admin('PUT', `/inventory/${v.id}`, { on_hand: 10, reason: 'Count' });
    const res = await admin('POST', `/inventory/${v.id}/adjustments`, { delta: -4, reason: 'Damaged' });
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual(inventory(v, { on_hand: 6, available: 6, level: 'in_stock' }));
    const { changes, audit } = await journalOf(v.id);
    expect(changes.map((c) => [c.kind, c.delta, c.on_hand_before, c.on_hand_after, c.reason])).toStrictEqual([
      ['set_on_hand', 10, 0, 10, 'Count'],
      ['adjust', -4, 10, 6, 'Damaged'],
    ]);
    expect(audit[1]).toStrictEqual({
      actor_type: 'secret_key',
      action: 'inventory.adjust',
      target_type: 'inventory',
      changes: { change_id: changes[1]?.id, reason: 'Damaged', row: { on_hand: { from: 10, to: 6 } } },
      request_id: res.headers.get('X-Request-Id'),
    });
  });

  it('refuses to take on hand below zero with 409, writing nothing', async () => {
    const v = await variant();
    await admin('PUT', `/inventory/${v.id}`, { on_hand: 2, reason: 'Count' });
    const before = await snapshotD1();
    await expectProblem(
      await admin('POST', `/inventory/${v.id}/adjustments`, { delta: -3, reason: 'Lost' }),
      409,
      'negative_on_hand',
    );
    const after = await snapshotD1();
    expect({ ...after, api_keys: [] }).toStrictEqual({ ...before, api_keys: [] });
    expect(await (await admin('GET', `/inventory/${v.id}`)).json()).toMatchObject({ on_hand: 2 });
  });

  it('refuses a zero or non-integer delta with 422', async () => {
    const v = await variant();
    await expectProblem(
      await admin('POST', `/inventory/${v.id}/adjustments`, { delta: 0, reason: 'x' }),
      422,
      'validation_failed',
      [{ pointer: '/body/delta', message: 'Use a non-zero change' }],
    );
    await expectProblem(
      await admin('POST', `/inventory/${v.id}/adjustments`, { delta: '1', reason: 'x' }),
      422,
      'validation_failed',
      [{ pointer: '/body/delta', message: expect.any(String) }],
    );
  });
});

describe('a count or an adjustment retried with its Idempotency-Key', () => {
  it('is applied once: the retry answers the stock as it is now, Idempotent-Replayed, and journals nothing more', async () => {
    const v = await variant();
    const countKey = crypto.randomUUID();
    const count = { on_hand: 10, reason: 'Count' };
    expect((await admin('PUT', `/inventory/${v.id}`, count, withKey(countKey))).status).toBe(200);
    const adjustKey = crypto.randomUUID();
    const damaged = { delta: -4, reason: 'Damaged' };
    const first = await admin('POST', `/inventory/${v.id}/adjustments`, damaged, withKey(adjustKey));
    expect([first.status, first.headers.get('Idempotent-Replayed')]).toStrictEqual([200, null]);
    const journal = await journalOf(v.id);

    const retry = await admin('POST', `/inventory/${v.id}/adjustments`, damaged, withKey(adjustKey));
    expect([retry.status, retry.headers.get('Idempotent-Replayed')]).toStrictEqual([200, 'true']);
    expect(await retry.json()).toStrictEqual(inventory(v, { on_hand: 6, available: 6, level: 'in_stock' }));
    // A count retried after the adjustment does not undo it.
    const recount = await admin('PUT', `/inventory/${v.id}`, count, withKey(countKey));
    expect([recount.status, recount.headers.get('Idempotent-Replayed')]).toStrictEqual([200, 'true']);
    expect(await recount.json()).toMatchObject({ on_hand: 6 });
    expect(await journalOf(v.id)).toStrictEqual(journal);
    expect(journal.changes.map((c) => [c.kind, c.delta, c.on_hand_after])).toStrictEqual([
      ['set_on_hand', 10, 10],
      ['adjust', -4, 6],
    ]);
  });

  it('refuses a malformed key with 400 invalid_idempotency_key, changing nothing', async () => {
    const v = await variant();
    await admin('PUT', `/inventory/${v.id}`, { on_hand: 10, reason: 'Count' });
    const before = await snapshotD1();
    for (const key of ['x'.repeat(256), 'two words', '']) {
      await expectProblem(
        await admin('POST', `/inventory/${v.id}/adjustments`, { delta: 1, reason: 'Found' }, withKey(key)),
        400,
        'invalid_idempotency_key',
      );
      await expectProblem(
        await admin('PUT', `/inventory/${v.id}`, { on_hand: 1, reason: 'Count' }, withKey(key)),
        400,
        'invalid_idempotency_key',
      );
    }
    expect({ ...(await snapshotD1()), api_keys: [] }).toStrictEqual({ ...before, api_keys: [] });
  });

  it('refuses the key for another change with 422 idempotency_key_reused, changing nothing', async () => {
    const v = await variant();
    const key = crypto.randomUUID();
    await admin('PUT', `/inventory/${v.id}`, { on_hand: 10, reason: 'Count' });
    expect(
      (await admin('POST', `/inventory/${v.id}/adjustments`, { delta: 2, reason: 'Found' }, withKey(key)))
        .status,
    ).toBe(200);
    const before = await snapshotD1();
    for (const other of [
      { delta: 3, reason: 'Found' },
      { delta: 2, reason: 'Returned' },
    ]) {
      await expectProblem(
        await admin('POST', `/inventory/${v.id}/adjustments`, other, withKey(key)),
        422,
        'idempotency_key_reused',
      );
    }
    await expectProblem(
      await admin('PUT', `/inventory/${v.id}`, { on_hand: 20, reason: 'Found' }, withKey(key)),
      422,
      'idempotency_key_reused',
    );
    expect({ ...(await snapshotD1()), api_keys: [] }).toStrictEqual({ ...before, api_keys: [] });
    expect(await (await admin('GET', `/inventory/${v.id}`)).json()).toMatchObject({ on_hand: 12 });
  });

  it('keeps nothing for a refused change, and keys apart per caller', async () => {
    const v = await variant();
    const key = crypto.randomUUID();
    await admin('PUT', `/inventory/${v.id}`, { on_hand: 2, reason: 'Count' });
    await expectProblem(
      await admin('POST', `/inventory/${v.id}/adjustments`, { delta: -3, reason: 'Lost' }, withKey(key)),
      409,
      'negative_on_hand',
    );
    const fixed = await admin(
      'POST',
      `/inventory/${v.id}/adjustments`,
      { delta: -2, reason: 'Lost' },
      withKey(key),
    );
    expect([fixed.status, fixed.headers.get('Idempotent-Replayed')]).toStrictEqual([200, null]);
    const other = await insertSecretKey(['inventory:write']);
    const theirs = await call(
      `/v1/admin/inventory/${v.id}/adjustments`,
      jsonInit('POST', { delta: -2, reason: 'Lost' }, { ...bearer(other.key), 'Idempotency-Key': key }),
    );
    await expectProblem(theirs, 409, 'negative_on_hand');
  });
});

describe('the Idempotency-Key of a stock change as the API document describes it', () => {
  it('promises what the object does: a key kept for good, per variant, and never 409 idempotency_key_in_use', async () => {
    const v = await variant();
    const w = await variant();
    const key = crypto.randomUUID();
    const count = { on_hand: 5, reason: 'Count' };
    expect((await admin('PUT', `/inventory/${v.id}`, count, withKey(key))).status).toBe(200);
    // The same key for another variant is another request, and the object of that variant applies it.
    const other = await admin('PUT', `/inventory/${w.id}`, count, withKey(key));
    expect([other.status, other.headers.get('Idempotent-Replayed')]).toStrictEqual([200, null]);

    type Parameter = { name: string; description: string };
    const doc = (await (await call('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { parameters: Parameter[] }>>;
    };
    for (const [path, method] of [
      ['/v1/admin/inventory/{variant_id}', 'put'],
      ['/v1/admin/inventory/{variant_id}/adjustments', 'post'],
    ] as const) {
      const header = doc.paths[path]?.[method]?.parameters.find((p) => p.name === 'Idempotency-Key');
      expect(header?.description, path).not.toMatch(/24 h|idempotency_key_in_use|another request is 422/);
    }
  });
});

describe('PATCH /v1/admin/inventory/{variant_id}', () => {
  it('sets the low-stock threshold, which moves the level and raises low_stock', async () => {
    const v = await variant();
    await admin('PUT', `/inventory/${v.id}`, { on_hand: 8, reason: 'Count' });
    const res = await admin('PATCH', `/inventory/${v.id}`, { low_stock_threshold: 10 });
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual(
      inventory(v, { on_hand: 8, available: 8, low_stock_threshold: 10, level: 'low_stock' }),
    );
    const { changes, audit, events, levels } = await journalOf(v.id);
    expect(changes[1]).toMatchObject({
      kind: 'configure',
      delta: 0,
      on_hand_before: 8,
      on_hand_after: 8,
      settings: {
        before: { lowStockThreshold: 0, backorder: 'deny' },
        after: { lowStockThreshold: 10, backorder: 'deny' },
      },
      reason: 'Settings changed',
    });
    expect(audit[1]).toMatchObject({
      action: 'inventory.configure',
      changes: {
        change_id: changes[1]?.id,
        reason: 'Settings changed',
        row: { low_stock_threshold: { from: 0, to: 10 } },
      },
    });
    expect(events.slice(1).map((e) => [e.type, e.payload])).toStrictEqual([
      [
        'inventory.configured',
        {
          variant_id: v.id,
          sku: v.sku,
          change_id: changes[1]?.id,
          reason: 'Settings changed',
          low_stock_threshold: 10,
          backorder: 'deny',
        },
      ],
      [
        'inventory.low_stock',
        {
          variant_id: v.id,
          sku: v.sku,
          level: 'low_stock',
          previous_level: 'in_stock',
          available: 8,
          seq: 2,
        },
      ],
    ]);
    expect(levels).toStrictEqual([{ level: 'low_stock', seq: 2 }]);
  });

  it('allows backorders: carts may then hold more than is on hand', async () => {
    const v = await variant();
    const res = await admin('PATCH', `/inventory/${v.id}`, { backorder: 'allow', reason: 'Pre-orders open' });
    expect(await res.json()).toStrictEqual(inventory(v, { backorder: 'allow' }));
    const held = await reserveStock(ns(), v.id, {
      reservationId: 'l',
      owner: 'c',
      quantity: 2,
      ttlMs: 60_000,
    });
    expect(held).toMatchObject({ ok: true, stock: { available: -2 } });
  });

  it('needs a setting to change, and refuses an unknown policy', async () => {
    const v = await variant();
    await expectProblem(
      await admin('PATCH', `/inventory/${v.id}`, { reason: 'x' }),
      422,
      'validation_failed',
      [{ pointer: '/body', message: 'Send low_stock_threshold or backorder' }],
    );
    await expectProblem(
      await admin('PATCH', `/inventory/${v.id}`, { backorder: 'maybe' }),
      422,
      'validation_failed',
      [{ pointer: '/body/backorder', message: expect.any(String) }],
    );
  });
});

describe('GET /v1/admin/inventory/{variant_id}/reservations', () => {
  it('pages through the unexpired reservations by id', async () => {
    const v = await variant();
    await admin('PUT', `/inventory/${v.id}`, { on_hand: 10, reason: 'Count' });
    const before = Date.now();
    for (const id of ['line_c', 'line_a', 'line_b']) {
      await reserveStock(ns(), v.id, { reservationId: id, owner: `cart_${id}`, quantity: 2, ttlMs: 600_000 });
    }
    const first = await admin('GET', `/inventory/${v.id}/reservations?limit=2`);
    expect(first.status).toBe(200);
    const page = await first.json<{
      data: Record<string, unknown>[];
      page: { next_cursor: string | null };
    }>();
    const iso = expect.stringMatching(/^\d{4}-\d\d-\d\dT/);
    expect(page).toStrictEqual({
      data: [
        { id: 'line_a', owner: 'cart_line_a', quantity: 2, expires_at: iso, created_at: iso },
        { id: 'line_b', owner: 'cart_line_b', quantity: 2, expires_at: iso, created_at: iso },
      ],
      page: { limit: 2, next_cursor: expect.any(String) },
    });
    expect(Date.parse(String(page.data[0]?.expires_at))).toBeGreaterThanOrEqual(before + 600_000);
    const second = await admin(
      'GET',
      `/inventory/${v.id}/reservations?limit=2&cursor=${page.page.next_cursor}`,
    );
    expect(await second.json()).toStrictEqual({
      data: [{ id: 'line_c', owner: 'cart_line_c', quantity: 2, expires_at: iso, created_at: iso }],
      page: { limit: 2, next_cursor: null },
    });
  });

  it('refuses a cursor of another listing, and an unknown variant', async () => {
    const v = await variant();
    await expectProblem(
      await admin('GET', `/inventory/${v.id}/reservations?cursor=abc`),
      422,
      'invalid_cursor',
      [{ pointer: '/query/cursor', message: expect.any(String) }],
    );
    await expectProblem(
      await admin('GET', '/inventory/var_01ZZZZZZZZZZZZZZZZZZZZZZZZ/reservations'),
      404,
      'not_found',
    );
  });
});

describe('permissions', () => {
  it('reads with inventory:read, changes only with inventory:write', async () => {
    const v = await variant();
    const reader = bearer((await insertSecretKey(['inventory:read'])).key);
    expect((await call(`/v1/admin/inventory/${v.id}`, { headers: reader })).status).toBe(200);
    expect((await call(`/v1/admin/inventory/${v.id}/reservations`, { headers: reader })).status).toBe(200);
    const before = await snapshotD1();
    for (const [method, path, body] of [
      ['PUT', '', { on_hand: 1, reason: 'x' }],
      ['PATCH', '', { low_stock_threshold: 1 }],
      ['POST', '/adjustments', { delta: 1, reason: 'x' }],
    ] as const) {
      const res = await call(`/v1/admin/inventory/${v.id}${path}`, jsonInit(method, body, reader));
      await expectProblem(res, 403, 'forbidden');
    }
    const after = await snapshotD1();
    expect({ ...after, api_keys: [] }).toStrictEqual({ ...before, api_keys: [] });
    const others = bearer(
      (await insertSecretKey(PERMISSIONS.filter((p) => !p.startsWith('inventory:')))).key,
    );
    await expectProblem(await call(`/v1/admin/inventory/${v.id}`, { headers: others }), 403, 'forbidden');
  });
});

describe('D1 journal written by the object', () => {
  it('names the staff member’s request in every row, also when two changes race', async () => {
    const v = await variant();
    const [a, b] = await Promise.all([
      admin('POST', `/inventory/${v.id}/adjustments`, { delta: 3, reason: 'A' }),
      admin('POST', `/inventory/${v.id}/adjustments`, { delta: 4, reason: 'B' }),
    ]);
    expect([a.status, b.status]).toStrictEqual([200, 200]);
    expect(await (await admin('GET', `/inventory/${v.id}`)).json()).toMatchObject({ on_hand: 7 });
    const { changes, audit } = await journalOf(v.id);
    expect(changes.map((c) => c.request_id).sort()).toStrictEqual(
      [a.headers.get('X-Request-Id'), b.headers.get('X-Request-Id')].sort(),
    );
    expect(audit).toHaveLength(2);
    expect(
      await env.DB.prepare('SELECT COUNT(*) AS n FROM inventory_changes WHERE variant_id = ?')
        .bind(v.id)
        .first('n'),
    ).toBe(2);
  });
});
