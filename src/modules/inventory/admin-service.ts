/**
 * Staff stock changes. The InventoryItem object is the authority and goes first: it checks the change against
 * the stock it holds, applies it under a fresh change id (`adj_...`) and, in the same storage transaction,
 * queues the D1 journal of it: an `inventory_changes` row keyed by that id, an audit entry
 * (`inventory.set_on_hand|adjust|configure`, naming this caller and request) and an event
 * (`inventory.adjusted|configured`, plus `inventory.low_stock|out_of_stock` when the level moved), all
 * written through commit(). The service then asks the object to flush, so the answer comes after D1 has them.
 *
 * If this Worker dies after the object applied the change, the object publishes the journal on its own (right
 * away, else by its alarm every 30 s until D1 takes it), attributed to the same actor and request; the journal
 * is keyed by the change id, so it is written exactly once whoever gets there first. A change refused by the
 * object writes nothing anywhere. A client that lost the answer and retries makes a second change (a PUT sets
 * the same figure again; an adjustment is applied twice), as with any non-idempotent request.
 */
import { type Caller, callerLogger } from '../../lib/caller';
import { createDb } from '../../lib/db';
import { AppError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { describeError } from '../../lib/logger';
import { variantRef } from './admin-read';
import {
  type AdjustmentInput,
  type AdminInventory,
  type InventorySettingsInput,
  type SetOnHandInput,
  serializeAdminInventory,
} from './admin-schemas';
import { stockObject } from './stock';
import type { StockChangeResult, StockRef } from './stock-types';

const REFUSALS = {
  negative_on_hand: 'On hand cannot go below zero.',
  on_hand_limit: 'On hand cannot exceed 1,000,000,000 units.',
} as const;

/** What every staff change passes the object about who asks. */
const sourceOf = (caller: Caller, reason: string) => ({
  reason,
  actor: caller.actor,
  requestId: caller.meta.requestId,
});

/**
 * Waits for the object to write its D1 journal. The change is made whatever happens here, so a failure is
 * logged, never thrown: the object keeps the records and its alarm retries them.
 */
async function awaitJournal(env: Env, caller: Caller, variantId: string): Promise<void> {
  try {
    const { pending } = await stockObject(env.INVENTORY_ITEM, variantId).flush();
    if (pending > 0) {
      callerLogger(caller).warn('stock journal not yet in D1; the object retries it', {
        variant_id: variantId,
        pending,
      });
    }
  } catch (error) {
    callerLogger(caller).error('stock journal flush failed; the object retries it', {
      variant_id: variantId,
      ...describeError(error),
    });
  }
}

async function answer(env: Env, caller: Caller, ref: Required<StockRef>, result: StockChangeResult) {
  if (!result.ok) throw new AppError(409, result.reason, REFUSALS[result.reason]);
  await awaitJournal(env, caller, ref.variantId);
  return serializeAdminInventory(ref.sku, result.stock);
}

export async function setOnHand(
  env: Env,
  caller: Caller,
  variantId: string,
  input: SetOnHandInput,
): Promise<AdminInventory> {
  const ref = await variantRef(createDb(env.DB), variantId);
  const result = await stockObject(env.INVENTORY_ITEM, variantId).setOnHand(ref, {
    adjustmentId: newId('adj'),
    onHand: input.on_hand,
    ...sourceOf(caller, input.reason),
  });
  return answer(env, caller, ref, result);
}

export async function adjustOnHand(
  env: Env,
  caller: Caller,
  variantId: string,
  input: AdjustmentInput,
): Promise<AdminInventory> {
  const ref = await variantRef(createDb(env.DB), variantId);
  const result = await stockObject(env.INVENTORY_ITEM, variantId).adjust(ref, {
    adjustmentId: newId('adj'),
    delta: input.delta,
    ...sourceOf(caller, input.reason),
  });
  return answer(env, caller, ref, result);
}

export async function updateSettings(
  env: Env,
  caller: Caller,
  variantId: string,
  input: InventorySettingsInput,
): Promise<AdminInventory> {
  const ref = await variantRef(createDb(env.DB), variantId);
  const result = await stockObject(env.INVENTORY_ITEM, variantId).configure(ref, {
    changeId: newId('adj'),
    ...(input.low_stock_threshold !== undefined && { lowStockThreshold: input.low_stock_threshold }),
    ...(input.backorder !== undefined && { backorder: input.backorder }),
    ...sourceOf(caller, input.reason ?? 'Settings changed'),
  });
  await awaitJournal(env, caller, variantId);
  return serializeAdminInventory(ref.sku, result.stock);
}
