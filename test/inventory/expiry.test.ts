/**
 * Expiry without a request: expired holds stop counting at once, the object's one alarm (never later than the
 * earliest due time) deletes them and records the level they free, and running the alarm again or early changes
 * nothing. Time is moved by setting expires_at into the past inside the object, never by sleeping; the
 * alarm is run with runDurableObjectAlarm.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { InventoryItem } from '../../src/durable-objects/inventory-item';
import { releaseStock, reserveStock, stockSnapshot } from '../../src/modules/inventory/stock';
import { rows } from '../helpers/admin-fixtures';
import { alarmOf, expire, freshVariant, ns, objectRows, stockUp, stub } from './helpers';

const hold = (reservationId: string, quantity: number, ttlMs = 15 * 60_000) => ({
  reservationId,
  owner: `cart_${reservationId}`,
  quantity,
  ttlMs,
});

describe('expired reservations', () => {
  it('stop counting the moment they expire, before the alarm has run', async () => {
    const variantId = freshVariant();
    await stockUp(variantId, 5);
    await reserveStock(ns(), variantId, hold('late', 3));
    await expire(variantId, 'late');

    expect(await stockSnapshot(ns(), variantId)).toMatchObject({
      on_hand: 5,
      reserved: 0,
      available: 5,
      reservation_count: 0,
    });
    // The row is still there: only the alarm deletes it. Its units are free for another cart already.
    expect(await objectRows(variantId, 'SELECT id FROM reservations')).toStrictEqual([{ id: 'late' }]);
    expect(await reserveStock(ns(), variantId, hold('next', 5))).toMatchObject({ ok: true });
  });

  it('are deleted by the alarm, with no request, and the level they free is recorded in D1', async () => {
    const variantId = freshVariant();
    await stockUp(variantId, 2);
    const held = await reserveStock(ns(), variantId, hold('line', 2));
    expect(held.level).toStrictEqual({ before: 'in_stock', after: 'out_of_stock' });
    await expire(variantId, 'line');
    expect(await rows('SELECT level, seq FROM stock_levels WHERE variant_id = ?', variantId)).toStrictEqual([
      { level: 'out_of_stock', seq: 2 },
    ]);

    expect(await runDurableObjectAlarm(stub(variantId))).toBe(true);

    expect(await objectRows(variantId, 'SELECT id FROM reservations')).toStrictEqual([]);
    expect(await rows('SELECT level, seq FROM stock_levels WHERE variant_id = ?', variantId)).toStrictEqual([
      { level: 'in_stock', seq: 3 },
    ]);
    expect(
      await rows(
        'SELECT type FROM outbox_events WHERE aggregate_id = ? ORDER BY occurred_at, rowid',
        variantId,
      ),
    ).toStrictEqual([{ type: 'inventory.adjusted' }, { type: 'inventory.out_of_stock' }]);
    // Nothing is due any more: no alarm.
    expect(await alarmOf(variantId)).toBeNull();
  });

  it('are released once, however often the alarm runs: it is delivered at least once', async () => {
    const variantId = freshVariant();
    await stockUp(variantId, 1);
    await reserveStock(ns(), variantId, hold('line', 1));
    await expire(variantId, 'line');
    await runInDurableObject(stub(variantId), async (item: InventoryItem) => {
      await item.alarm();
      await item.alarm();
    });
    await runDurableObjectAlarm(stub(variantId));
    expect(await stockSnapshot(ns(), variantId)).toMatchObject({
      on_hand: 1,
      reserved: 0,
      level: 'in_stock',
    });
    expect(
      await rows(
        'SELECT type FROM outbox_events WHERE aggregate_id = ? ORDER BY occurred_at, rowid',
        variantId,
      ),
    ).toStrictEqual([{ type: 'inventory.adjusted' }, { type: 'inventory.out_of_stock' }]);
    expect(await rows('SELECT level, seq FROM stock_levels WHERE variant_id = ?', variantId)).toStrictEqual([
      { level: 'in_stock', seq: 3 },
    ]);
  });

  it('an alarm that runs early releases nothing and re-arms at the expiry', async () => {
    const variantId = freshVariant();
    await stockUp(variantId, 4);
    const held = await reserveStock(ns(), variantId, hold('line', 2));
    if (!held.ok) throw new Error('not held');
    expect(await runDurableObjectAlarm(stub(variantId))).toBe(true);
    expect(await stockSnapshot(ns(), variantId)).toMatchObject({ reserved: 2, reservation_count: 1 });
    expect(await alarmOf(variantId)).toBe(held.expiresAt);
  });
});

describe('the one alarm', () => {
  it('is never later than the earliest expiry, and exactly at it once it has run', async () => {
    const variantId = freshVariant();
    await stockUp(variantId, 10);
    // Publishing the count left a retry alarm behind (the backstop had the journal failed); it finds nothing.
    await runDurableObjectAlarm(stub(variantId));
    expect(await alarmOf(variantId)).toBeNull();

    const a = await reserveStock(ns(), variantId, hold('a', 1, 10 * 60_000));
    if (!a.ok) throw new Error('not held');
    expect(await alarmOf(variantId)).toBe(a.expiresAt);

    const b = await reserveStock(ns(), variantId, hold('b', 1, 5 * 60_000));
    if (!b.ok) throw new Error('not held');
    expect(await alarmOf(variantId)).toBe(b.expiresAt);

    const c = await reserveStock(ns(), variantId, hold('c', 1, 20 * 60_000));
    if (!c.ok) throw new Error('not held');
    expect(await alarmOf(variantId)).toBe(b.expiresAt);

    // Releasing the earliest hold leaves the alarm early (no storage write); when it runs, it finds nothing
    // due and re-arms at the earliest hold left.
    await releaseStock(ns(), variantId, 'b');
    expect(await alarmOf(variantId)).toBe(b.expiresAt);
    expect(await runDurableObjectAlarm(stub(variantId))).toBe(true);
    expect(await stockSnapshot(ns(), variantId)).toMatchObject({ reserved: 2, reservation_count: 2 });
    expect(await alarmOf(variantId)).toBe(a.expiresAt);

    // Extending the earliest hold likewise: the next run moves the alarm to what is now earliest.
    const extended = await reserveStock(ns(), variantId, hold('a', 1, 30 * 60_000));
    if (!extended.ok) throw new Error('not held');
    expect(await alarmOf(variantId)).toBe(a.expiresAt);
    await runDurableObjectAlarm(stub(variantId));
    expect(await alarmOf(variantId)).toBe(c.expiresAt);

    await releaseStock(ns(), variantId, 'c');
    await releaseStock(ns(), variantId, 'a');
    await runDurableObjectAlarm(stub(variantId));
    expect(await alarmOf(variantId)).toBeNull();
  });
});
