/**
 * On-hand changes on the real object (restock, set, adjust, configure), each once per id, and their D1
 * journal: written once however often it is published, kept and retried by the alarm while D1 refuses it,
 * and published by the object on its own when the Worker that asked never waits for it.
 */
import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { PUBLISH_RETRY_MS } from '../../src/durable-objects/inventory-item';
import { newId } from '../../src/lib/ids';
import { publishStockRecord } from '../../src/modules/inventory/journal';
import { restockVariant, stockSnapshot } from '../../src/modules/inventory/stock';
import type { StockRecord } from '../../src/modules/inventory/stock-types';
import { rows } from '../helpers/admin-fixtures';
import { alarmOf, freshVariant, ns, source, stockUp, stub, TEST_ACTOR } from './helpers';

const countOf = async (query: string, ...params: unknown[]) =>
  Number((await rows(`SELECT COUNT(*) AS n FROM ${query}`, ...params))[0]?.n);

describe('restock', () => {
  it('puts units back once per key, journaled under the caller’s actor and request', async () => {
    const variantId = freshVariant();
    await stockUp(variantId, 1);
    const input = {
      key: 'order:ord_1:cancel',
      quantity: 2,
      reason: 'Order canceled',
      actor: TEST_ACTOR,
      requestId: 'run-1',
    };
    const first = await restockVariant(ns(), variantId, input);
    expect(first).toMatchObject({
      ok: true,
      applied: true,
      change: { id: 'order:ord_1:cancel', kind: 'restock', delta: 2, onHandBefore: 1, onHandAfter: 3 },
      stock: { on_hand: 3 },
    });
    const again = await restockVariant(ns(), variantId, { ...input, quantity: 5 });
    expect(again).toMatchObject({ ok: true, applied: false, change: { delta: 2 }, stock: { on_hand: 3 } });
    await stub(variantId).flush();
    expect(
      await rows(
        `SELECT actor_type, actor_id, action, request_id FROM audit_log WHERE target_id = ? AND action = 'inventory.restock'`,
        variantId,
      ),
    ).toStrictEqual([
      { actor_type: 'system', actor_id: 'stock-tests', action: 'inventory.restock', request_id: 'run-1' },
    ]);
    expect(await countOf("inventory_changes WHERE variant_id = ? AND kind = 'restock'", variantId)).toBe(1);
  });
});

describe('setOnHand and adjust', () => {
  it('apply once per adjustment id: a repeat answers the first change and journals nothing new', async () => {
    const variantId = freshVariant();
    const ref = { variantId, sku: 'SKU-1' };
    const input = { adjustmentId: newId('adj'), onHand: 9, ...source('count') };
    const first = await stub(variantId).setOnHand(ref, input);
    const again = await stub(variantId).setOnHand(ref, { ...input, onHand: 4 });
    expect(first).toMatchObject({ ok: true, applied: true, stock: { on_hand: 9 } });
    expect(again).toMatchObject({ ok: true, applied: false, stock: { on_hand: 9 } });
    if (!first.ok || !again.ok) throw new Error('unreachable');
    expect(again.change).toStrictEqual(first.change);
    await stub(variantId).flush();
    expect(await countOf('inventory_changes WHERE variant_id = ?', variantId)).toBe(1);
    expect(
      await countOf("outbox_events WHERE aggregate_id = ? AND type = 'inventory.adjusted'", variantId),
    ).toBe(1);
  });

  it('never decrease on hand below zero, but may add onto backordered stock', async () => {
    const variantId = freshVariant();
    await stockUp(variantId, 1);
    const ref = { variantId };
    expect(
      await stub(variantId).adjust(ref, { adjustmentId: newId('adj'), delta: -2, ...source() }),
    ).toMatchObject({
      ok: false,
      reason: 'negative_on_hand',
      stock: { on_hand: 1 },
    });
    await stub(variantId).configure(ref, { changeId: newId('adj'), backorder: 'allow', ...source() });
    await stub(variantId).commit(ref, { reservationId: 'line', orderId: 'ord_1', quantity: 4 });
    expect(await stockSnapshot(ns(), variantId)).toMatchObject({ on_hand: -3, available: -3 });
    expect(
      await stub(variantId).adjust(ref, { adjustmentId: newId('adj'), delta: 2, ...source() }),
    ).toMatchObject({
      ok: true,
      stock: { on_hand: -1 },
    });
  });

  it('refuse to exceed the on-hand limit', async () => {
    const variantId = freshVariant();
    await stockUp(variantId, 1_000_000_000);
    expect(
      await stub(variantId).adjust({ variantId }, { adjustmentId: newId('adj'), delta: 1, ...source() }),
    ).toMatchObject({ ok: false, reason: 'on_hand_limit', stock: { on_hand: 1_000_000_000 } });
  });
});

describe('configure', () => {
  it('moves the level with the threshold, both ways', async () => {
    const variantId = freshVariant();
    await stockUp(variantId, 3);
    const ref = { variantId };
    const low = await stub(variantId).configure(ref, {
      changeId: newId('adj'),
      lowStockThreshold: 3,
      ...source(),
    });
    expect(low).toMatchObject({
      applied: true,
      settings: { lowStockThreshold: 3, backorder: 'deny' },
      level: { before: 'in_stock', after: 'low_stock' },
    });
    const back = await stub(variantId).configure(ref, {
      changeId: newId('adj'),
      lowStockThreshold: 2,
      ...source(),
    });
    expect(back.level).toStrictEqual({ before: 'low_stock', after: 'in_stock' });
  });
});

describe('the D1 journal', () => {
  const change = (variantId: string): StockRecord => ({
    seq: 1,
    kind: 'change',
    variantId,
    sku: 'SKU-1',
    change: {
      id: newId('adj'),
      kind: 'adjust',
      delta: 2,
      onHandBefore: 0,
      onHandAfter: 2,
      settings: null,
      reason: 'Found two',
      actor: TEST_ACTOR,
      requestId: 'req-1',
      at: Date.now(),
    },
  });
  const level = (variantId: string, levelSeq: number, value: 'in_stock' | 'out_of_stock'): StockRecord => ({
    seq: levelSeq,
    kind: 'level',
    variantId,
    sku: 'SKU-1',
    levelSeq,
    level: value,
    previous: value === 'in_stock' ? 'out_of_stock' : 'in_stock',
    available: value === 'in_stock' ? 2 : 0,
    at: Date.now(),
  });

  it('takes a record published twice once: one ledger row, one audit entry, one event', async () => {
    const variantId = freshVariant();
    const record = change(variantId);
    await publishStockRecord(env, record);
    await publishStockRecord(env, record);
    expect(await countOf('inventory_changes WHERE variant_id = ?', variantId)).toBe(1);
    expect(await countOf('audit_log WHERE target_id = ?', variantId)).toBe(1);
    expect(await countOf('outbox_events WHERE aggregate_id = ?', variantId)).toBe(1);
  });

  it('moves a level only forwards: a repeated or older record changes nothing and raises nothing', async () => {
    const variantId = freshVariant();
    await publishStockRecord(env, level(variantId, 2, 'out_of_stock'));
    await publishStockRecord(env, level(variantId, 2, 'out_of_stock'));
    await publishStockRecord(env, level(variantId, 1, 'in_stock'));
    expect(await rows('SELECT level, seq FROM stock_levels WHERE variant_id = ?', variantId)).toStrictEqual([
      { level: 'out_of_stock', seq: 2 },
    ]);
    expect(await rows('SELECT type FROM outbox_events WHERE aggregate_id = ?', variantId)).toStrictEqual([
      { type: 'inventory.out_of_stock' },
    ]);
  });

  it('is kept while D1 refuses it and published by the alarm, attributed to the original request', async () => {
    const variantId = freshVariant();
    await env.DB.exec('ALTER TABLE inventory_changes RENAME TO inventory_changes_away');
    let flushedAt: [number, number];
    try {
      await stub(variantId).setOnHand(
        { variantId, sku: 'SKU-1' },
        { adjustmentId: newId('adj'), onHand: 3, reason: 'count', actor: TEST_ACTOR, requestId: 'req-held' },
      );
      const start = Date.now();
      // The change and the level it moved stay queued, in order.
      expect(await stub(variantId).flush()).toStrictEqual({ pending: 2 });
      flushedAt = [start, Date.now()];
    } finally {
      await env.DB.exec('ALTER TABLE inventory_changes_away RENAME TO inventory_changes');
    }
    // The alarm will retry: armed in the future, no later than one retry interval after the failed attempt.
    const alarm = await alarmOf(variantId);
    expect(alarm).toBeGreaterThan(flushedAt[0]);
    expect(alarm).toBeLessThanOrEqual(flushedAt[1] + PUBLISH_RETRY_MS);
    expect(await countOf('audit_log WHERE target_id = ?', variantId)).toBe(0);

    expect(await runDurableObjectAlarm(stub(variantId))).toBe(true);

    expect(
      await rows(
        'SELECT actor_type, actor_id, action, request_id FROM audit_log WHERE target_id = ?',
        variantId,
      ),
    ).toStrictEqual([
      {
        actor_type: 'system',
        actor_id: 'stock-tests',
        action: 'inventory.set_on_hand',
        request_id: 'req-held',
      },
    ]);
    expect(await rows('SELECT level, seq FROM stock_levels WHERE variant_id = ?', variantId)).toStrictEqual([
      { level: 'in_stock', seq: 1 },
    ]);
    expect(await stub(variantId).flush()).toStrictEqual({ pending: 0 });
    expect(await alarmOf(variantId)).toBeNull();
  });

  it('reaches D1 without anyone waiting for it: the object publishes on its own after answering', async () => {
    const variantId = freshVariant();
    await stub(variantId).setOnHand(
      { variantId },
      { adjustmentId: newId('adj'), onHand: 2, reason: 'count', actor: TEST_ACTOR, requestId: 'req-alone' },
    );
    // Bounded polling, no timing assumption: the publisher runs on after the answer.
    let journaled = 0;
    for (let attempt = 0; attempt < 500 && journaled === 0; attempt++) {
      journaled = await countOf('audit_log WHERE target_id = ?', variantId);
      if (journaled === 0) await scheduler.wait(20);
    }
    expect(journaled).toBe(1);
  });
});
