/** Stock objects in tests: the real InventoryItem Durable Object, reached the way modules reach it. */
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import type { InventoryItem } from '../../src/durable-objects/inventory-item';
import type { Actor } from '../../src/lib/caller';
import { newId } from '../../src/lib/ids';
import { stockObject } from '../../src/modules/inventory/stock';

export const ns = () => env.INVENTORY_ITEM;
export const stub = (variantId: string) => stockObject(ns(), variantId);

/** A variant id no other test uses, so each test has a fresh object. */
export const freshVariant = () => newId('var');

export const TEST_ACTOR: Actor = { type: 'system', id: 'stock-tests' };
export const source = (reason = 'counted') => ({ reason, actor: TEST_ACTOR, requestId: crypto.randomUUID() });

/** Sets on-hand through the object (and waits for its D1 journal), as staff would. */
export async function stockUp(variantId: string, onHand: number, sku = `SKU-${variantId}`) {
  const result = await stub(variantId).setOnHand(
    { variantId, sku },
    { adjustmentId: newId('adj'), onHand, ...source() },
  );
  await stub(variantId).flush();
  return result;
}

/** Rows of the object's own SQLite storage. */
export function objectRows(variantId: string, query: string, ...bindings: unknown[]) {
  return runInDurableObject(stub(variantId), (_: InventoryItem, state: DurableObjectState) =>
    state.storage.sql.exec(query, ...bindings).toArray(),
  );
}

/** The object's alarm time, or null. */
export function alarmOf(variantId: string) {
  return runInDurableObject(stub(variantId), (_: InventoryItem, state: DurableObjectState) =>
    state.storage.getAlarm(),
  );
}

/**
 * Moves a reservation's expiry into the past, as if its time had run out, without re-arming the alarm: what a
 * test sees next is the state before the alarm. Call `flush()` first so no publisher is still running.
 */
export async function expire(variantId: string, reservationId: string) {
  await stub(variantId).flush();
  await objectRows(
    variantId,
    'UPDATE reservations SET expires_at = ? WHERE id = ?',
    Date.now() - 1,
    reservationId,
  );
}
