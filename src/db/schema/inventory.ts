/**
 * What D1 knows about stock. The InventoryItem Durable Object (one per variant) is the only writer of stock;
 * these tables are its journal in D1, written from the object's outbox (src/modules/inventory/journal.ts):
 * the level listings may show without asking each object, and every ledger entry staff or orders caused.
 *
 * No foreign key to `variants`: an object may still publish after its variant was deleted, and a publish that
 * a constraint refused would block the object's outbox forever. Listings join on the variant anyway.
 */
import { sql } from 'drizzle-orm';
import { integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** What listings show: out when nothing is available, low at or under the threshold, in otherwise. */
export const STOCK_LEVELS = ['in_stock', 'low_stock', 'out_of_stock'] as const;
export type StockLevel = (typeof STOCK_LEVELS)[number];

export const BACKORDER_POLICIES = ['allow', 'deny'] as const;
/** `allow`: reserves and sales may take available below zero (sold ahead of restocking). */
export type BackorderPolicy = (typeof BACKORDER_POLICIES)[number];

/** A variant's stock settings; a `configure` change stores them before and after. */
export type StockSettings = { lowStockThreshold: number; backorder: BackorderPolicy };

const recordedAt = integer('recorded_at', { mode: 'timestamp_ms' })
  .notNull()
  .default(sql`(unixepoch('subsec') * 1000)`);

/**
 * A variant's stock level as of its object's `seq`-th level change. Written only when the level changes, and
 * only forwards (a higher `seq`), so a late or repeated publish never moves it back. No row: the variant was
 * never stocked, which is out of stock.
 */
export const stockLevels = sqliteTable('stock_levels', {
  variantId: text('variant_id').primaryKey(),
  level: text('level', { enum: STOCK_LEVELS }).notNull(),
  seq: integer('seq').notNull(),
  /** When the object saw the level change (its clock). */
  changedAt: integer('changed_at', { mode: 'timestamp_ms' }).notNull(),
  /** When D1 received it: `recorded_at - changed_at` is the publish delay. */
  recordedAt,
});

/**
 * Every on-hand change and settings change of a variant (the object's ledger), keyed by the change id the
 * object applied it under: a publish repeated after a crash inserts nothing, so its audit entry and event are
 * written once (commit() with `conditional`). Sales are not here; orders record them.
 */
export const inventoryChanges = sqliteTable(
  'inventory_changes',
  {
    variantId: text('variant_id').notNull(),
    /** `adj_...` for staff changes; the caller's key for restocks (e.g. `order:<id>:cancel`). */
    id: text('id').notNull(),
    kind: text('kind', { enum: ['set_on_hand', 'adjust', 'restock', 'configure'] }).notNull(),
    delta: integer('delta').notNull(),
    onHandBefore: integer('on_hand_before').notNull(),
    onHandAfter: integer('on_hand_after').notNull(),
    settings: text('settings', { mode: 'json' }).$type<{ before: StockSettings; after: StockSettings }>(),
    reason: text('reason').notNull(),
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id').notNull(),
    requestId: text('request_id').notNull(),
    changedAt: integer('changed_at', { mode: 'timestamp_ms' }).notNull(),
    recordedAt,
  },
  (t) => [primaryKey({ columns: [t.variantId, t.id] })],
);
