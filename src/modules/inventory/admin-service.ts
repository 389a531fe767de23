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
 * object writes nothing anywhere.
 *
 * A count or an adjustment sent with an Idempotency-Key takes its change id from the caller and the key
 * (`changeIdFor`), and the object applies a change id once (its ledger keeps every id for good), so a retry after
 * a lost answer changes nothing and is answered with the stock as it is now (`replayed`); the same key with
 * another count, delta or reason is 422 `idempotency_key_reused`. Without a key, a retry makes a second change
 * (a count set again over the sales since; an adjustment applied twice).
 */
import { type Caller, callerLogger } from '../../lib/caller';
import { createDb } from '../../lib/db';
import { AppError } from '../../lib/errors';
import { sha256Hex } from '../../lib/hash';
import { idempotencyKeyReused } from '../../lib/idempotency';
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
import type { StockChange, StockChangeResult, StockRef } from './stock-types';

/** A staff change's answer: the stock after it, and whether the change had been made before (a retried key). */
export type StaffStockChange = { inventory: AdminInventory; replayed: boolean };

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

/**
 * The change id of a staff change: fresh, or for a request with an Idempotency-Key the same for every retry of
 * it by this caller (ULIDs never take this form: 32 hex digits).
 */
async function changeIdFor(caller: Caller, idempotencyKey: string | undefined): Promise<string> {
  if (idempotencyKey === undefined) return newId('adj');
  const digest = await sha256Hex(`${caller.actor.type}:${caller.actor.id}\n${idempotencyKey}`);
  return `adj_${digest.slice(0, 32)}`;
}

async function answer(
  env: Env,
  caller: Caller,
  ref: Required<StockRef>,
  result: StockChangeResult,
  sameRequest: (first: StockChange) => boolean,
): Promise<StaffStockChange> {
  if (!result.ok) throw new AppError(409, result.reason, REFUSALS[result.reason]);
  if (!result.applied && !sameRequest(result.change)) throw idempotencyKeyReused();
  await awaitJournal(env, caller, ref.variantId);
  return { inventory: serializeAdminInventory(ref.sku, result.stock), replayed: !result.applied };
}

export async function setOnHand(
  env: Env,
  caller: Caller,
  variantId: string,
  input: SetOnHandInput,
  idempotencyKey?: string,
): Promise<StaffStockChange> {
  const ref = await variantRef(createDb(env.DB), variantId);
  const result = await stockObject(env.INVENTORY_ITEM, variantId).setOnHand(ref, {
    adjustmentId: await changeIdFor(caller, idempotencyKey),
    onHand: input.on_hand,
    ...sourceOf(caller, input.reason),
  });
  return answer(
    env,
    caller,
    ref,
    result,
    (first) =>
      first.kind === 'set_on_hand' && first.onHandAfter === input.on_hand && first.reason === input.reason,
  );
}

export async function adjustOnHand(
  env: Env,
  caller: Caller,
  variantId: string,
  input: AdjustmentInput,
  idempotencyKey?: string,
): Promise<StaffStockChange> {
  const ref = await variantRef(createDb(env.DB), variantId);
  const result = await stockObject(env.INVENTORY_ITEM, variantId).adjust(ref, {
    adjustmentId: await changeIdFor(caller, idempotencyKey),
    delta: input.delta,
    ...sourceOf(caller, input.reason),
  });
  return answer(
    env,
    caller,
    ref,
    result,
    (first) => first.kind === 'adjust' && first.delta === input.delta && first.reason === input.reason,
  );
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
