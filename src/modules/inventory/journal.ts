/**
 * What an InventoryItem object's outbox writes to D1, one record per commit() (src/lib/commit.ts):
 *
 * - a ledger entry (`change`): a row in `inventory_changes`, keyed by (variant, change id), with its audit
 *   entry (`inventory.<kind>`, naming the actor who asked) and its event (`inventory.adjusted`, or
 *   `inventory.configured` for settings);
 * - a level transition (`level`): `stock_levels` moved forward to the object's level counter, with
 *   `inventory.low_stock` / `inventory.out_of_stock` when the new level is one of those, and then (after the
 *   commit) a `low_stock` message on the live staff feed.
 *
 * Each commit is `conditional` on its keyed statement, so a record published twice (the object crashed after
 * D1 took it, before it forgot it) writes nothing the second time: one audit entry and one event per change.
 * The object publishes in order, so a level record is never overtaken by an older one.
 *
 * Events use aggregate type `inventory` (id: the variant id), never `variant`: stock moves all day and must
 * never look like a catalog change (catalog writes move cache versions; stock never does).
 */
import { sql } from 'drizzle-orm';
import { inventoryChanges, stockLevels } from '../../db/schema';
import { type Caller, systemCaller } from '../../lib/caller';
import { commit, computedEvent, type DomainEvent, type FollowUp } from '../../lib/commit';
import { createDb, type Database } from '../../lib/db';
import type { LiveChannelNamespace } from '../../lib/live-channel-contract';
import { STAFF_FEED_TOPIC } from '../../lib/live-messages';
import { liveFollowUp } from '../../lib/live-publish';
import type { StockChange, StockRecord } from './stock-types';

/** The system actor that level transitions are attributed to: time and carts move levels, not a person. */
const INVENTORY_SYSTEM_ACTOR = 'inventory-item';

type ChangeRecord = Extract<StockRecord, { kind: 'change' }>;
type LevelRecord = Extract<StockRecord, { kind: 'level' }>;

/** `{ column: { from, to } }` of what the change moved, like catalog audit entries. */
function changedColumns(change: StockChange) {
  if (change.settings === null) return { on_hand: { from: change.onHandBefore, to: change.onHandAfter } };
  const { before, after } = change.settings;
  return {
    ...(before.lowStockThreshold !== after.lowStockThreshold && {
      low_stock_threshold: { from: before.lowStockThreshold, to: after.lowStockThreshold },
    }),
    ...(before.backorder !== after.backorder && {
      backorder: { from: before.backorder, to: after.backorder },
    }),
  };
}

function changeEvent(variantId: string, sku: string | null, change: StockChange): DomainEvent {
  const base = { variant_id: variantId, sku, change_id: change.id, reason: change.reason };
  return change.settings === null
    ? {
        type: 'inventory.adjusted',
        aggregateType: 'inventory',
        aggregateId: variantId,
        payload: {
          ...base,
          kind: change.kind,
          delta: change.delta,
          on_hand_before: change.onHandBefore,
          on_hand: change.onHandAfter,
        },
      }
    : {
        type: 'inventory.configured',
        aggregateType: 'inventory',
        aggregateId: variantId,
        payload: {
          ...base,
          low_stock_threshold: change.settings.after.lowStockThreshold,
          backorder: change.settings.after.backorder,
        },
      };
}

async function journalChange(db: Database, { variantId, sku, change }: ChangeRecord): Promise<void> {
  // Attributed to whoever asked, with their request id, as if the Worker that served them had written it.
  const caller: Caller = {
    actor: change.actor,
    meta: { requestId: change.requestId, ip: null, userAgent: null, traceparent: null },
  };
  await commit(db, caller, {
    conditional: true,
    statements: [
      db
        .insert(inventoryChanges)
        .values({
          variantId,
          id: change.id,
          kind: change.kind,
          delta: change.delta,
          onHandBefore: change.onHandBefore,
          onHandAfter: change.onHandAfter,
          settings: change.settings,
          reason: change.reason,
          actorType: change.actor.type,
          actorId: change.actor.id,
          requestId: change.requestId,
          changedAt: new Date(change.at),
        })
        .onConflictDoNothing(),
    ],
    audit: {
      action: `inventory.${change.kind}`,
      targetType: 'inventory',
      targetId: variantId,
      changes: { change_id: change.id, reason: change.reason, row: changedColumns(change) },
    },
    events: [changeEvent(variantId, sku, change)],
  });
}

/** A level that needs staff attention, for the live staff feed once D1 has recorded it. */
function lowStockLive(live: LiveChannelNamespace, record: LevelRecord): FollowUp[] {
  if (record.level === 'in_stock') return [];
  return [
    liveFollowUp(live, STAFF_FEED_TOPIC, {
      type: 'low_stock',
      data: {
        variant_id: record.variantId,
        sku: record.sku,
        level: record.level,
        previous_level: record.previous,
        available: record.available,
      },
    }),
  ];
}

async function recordLevel(db: Database, live: LiveChannelNamespace, record: LevelRecord): Promise<void> {
  const caller = systemCaller(INVENTORY_SYSTEM_ACTOR, `${record.variantId}:level:${record.levelSeq}`);
  const row = {
    variantId: record.variantId,
    level: record.level,
    seq: record.levelSeq,
    changedAt: new Date(record.at),
  };
  await commit(db, caller, {
    conditional: true,
    statements: [
      db
        .insert(stockLevels)
        .values(row)
        .onConflictDoUpdate({
          target: stockLevels.variantId,
          set: {
            level: row.level,
            seq: row.seq,
            changedAt: row.changedAt,
            recordedAt: sql`(unixepoch('subsec') * 1000)`,
          },
          // Only forwards: a repeated or late record finds a higher or equal seq and changes nothing.
          setWhere: sql`excluded.seq > ${stockLevels.seq}`,
        }),
    ],
    events:
      record.level === 'in_stock'
        ? []
        : [
            computedEvent({
              type: `inventory.${record.level}`,
              aggregateType: 'inventory',
              aggregateId: record.variantId,
              payload: {
                variant_id: record.variantId,
                sku: record.sku,
                level: record.level,
                previous_level: record.previous,
                available: record.available,
                seq: record.levelSeq,
              },
            }),
          ],
    afterCommit: lowStockLive(live, record),
  });
}

/**
 * Writes one outbox record of an InventoryItem object to D1; safe to repeat. Throws if D1 fails. A level moved to
 * low or out of stock also goes to the live staff feed, once, after the commit that recorded it.
 */
export async function publishStockRecord(
  bindings: Pick<Env, 'DB' | 'LIVE_CHANNEL'>,
  record: StockRecord,
): Promise<void> {
  const db = createDb(bindings.DB);
  if (record.kind === 'change') await journalChange(db, record);
  else await recordLevel(db, bindings.LIVE_CHANNEL, record);
}
