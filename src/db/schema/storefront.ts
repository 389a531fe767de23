/**
 * The storefront read model: what listing and detail reads need, derived from the catalog tables and rewritten
 * in the same D1 batch as every catalog write (src/modules/storefront/projection.ts), so a listing reads rows in
 * proportion to the page instead of computing prices over the whole catalog.
 *
 * - `storefront_documents`: one JSON document per active product with everything a response shows that does
 *   not depend on the region (handle, translations, options, images, variants with their prices per currency).
 * - `storefront_lanes`: one per (region, locale, list), where a list is the whole catalog, a category (with its
 *   subcategories) or a collection. A lane is a small integer, so entries do not repeat three text keys.
 * - `storefront_entries`: one row per product sold in a lane (active, a variant priced in the region currency,
 *   a title), with its sort keys, so every sort of every list is a walk of one index range.
 * - `storefront_search_rows`: the number of each (product, region) in the storefront's full-text index
 *   (`storefront_search`, an FTS5 table made by migration 0017, see src/db/fts.ts), given once and kept, so a
 *   product's index row keeps its place in the index's order across rewrites, and the keys of its rows in the
 *   price- and date-ordered copies of that index (`storefront_search_prices`, `storefront_search_dates`).
 *
 * Deleting a product removes its rows here by cascade. A lane names its region, category or collection, and a
 * numbered pair its region, with no foreign key: their rows are far more than one batch may delete in a large
 * catalog, so a delete leaves them to steps (src/modules/storefront/rebuild.ts; for a delete by SQL alone,
 * triggers of migration 0028 give a region's rows the same steps and take a category's or collection's lanes at
 * once). Nothing reads them meanwhile, as every read starts from a region, category or collection that exists,
 * and ids are never reused.
 */
import { sql } from 'drizzle-orm';
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { categories, collections, products, regions } from './catalog';

/**
 * The spread levels of storefront_entries.spread_level: 41. Level 0 holds a spread of 0, level L from 1 to 39 the
 * spreads from 2^(L-1) to below 2^L, and the last, 40, every spread from 2^39 (prices are below MAX_AMOUNT, 10^12,
 * itself below 2^40).
 */
export const SPREAD_LEVELS = 41;

/** The spread level of an SQL expression that is a price spread (a non-negative integer). */
function spreadLevelOf(spread: string): string {
  const levels = Array.from(
    { length: SPREAD_LEVELS - 1 },
    (_, level) => `WHEN ${spread} < ${2 ** level} THEN ${level}`,
  );
  return `CASE ${levels.join(' ')} ELSE ${SPREAD_LEVELS - 1} END`;
}

export const storefrontDocuments = sqliteTable('storefront_documents', {
  productId: text('product_id')
    .primaryKey()
    .references(() => products.id, { onDelete: 'cascade' }),
  /** A StorefrontDocument (src/modules/storefront/document.ts) as JSON. */
  document: text('document').notNull(),
});

export const storefrontLanes = sqliteTable(
  'storefront_lanes',
  {
    lane: integer('lane').primaryKey(),
    /** No foreign key, nor on the list's columns: a deleted owner's lanes go in steps (see the top of this file). */
    regionId: text('region_id').notNull(),
    locale: text('locale').notNull(),
    /** Set for a category's lane: the products in it or in any of its subcategories. */
    categoryId: text('category_id'),
    /** Set for a collection's lane. */
    collectionId: text('collection_id'),
    /** The list a query asks for: '' for the whole catalog, else the category or collection id. */
    listId: text('list_id')
      .notNull()
      .generatedAlwaysAs(sql`coalesce(category_id, collection_id, '')`, { mode: 'virtual' }),
  },
  (t) => [
    uniqueIndex('storefront_lanes_list_uq').on(t.regionId, t.locale, t.listId),
    index('storefront_lanes_category_idx').on(t.categoryId),
    index('storefront_lanes_collection_idx').on(t.collectionId),
  ],
);

export const storefrontEntries = sqliteTable(
  'storefront_entries',
  {
    lane: integer('lane')
      .notNull()
      .references(() => storefrontLanes.lane, { onDelete: 'cascade' }),
    productId: text('product_id')
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    /** products.created_at (epoch ms): the newest sort. */
    createdAt: integer('created_at').notNull(),
    /** The lowest and highest price of the product's variants in the region currency, minor units. */
    minPrice: integer('min_price').notNull(),
    maxPrice: integer('max_price').notNull(),
    /** The title along the lane's locale chain: the title sorts. */
    title: text('title').notNull(),
    /**
     * In a whole-catalog lane (else NULL): the entry's place in title order, a label non-decreasing in (title,
     * product id) order within the lane, from 0 to 2^32 - 2, taken between its neighbours' when the entry is
     * written (src/modules/storefront/statements.ts). A listing by title that uses the full-text index walks
     * storefront_search_titles in label order (src/db/fts.ts).
     */
    titleLabel: integer('title_label'),
    /**
     * The rowid of the entry's row in storefront_search_titles, once written (none for a pair numbered from
     * 2^26 on): a trigger deletes that row with the entry.
     */
    titleRow: integer('title_row'),
    /**
     * How far apart the lowest and highest price lie, as a power of two: the least `level` with
     * `max_price - min_price < 2^level`, up to SPREAD_LEVELS - 1 (every spread from 2^(SPREAD_LEVELS - 2) on).
     * A listing by price with a minimum price walks each level from that minimum less its width
     * (src/modules/products/store-price-floor.ts).
     */
    spreadLevel: integer('spread_level')
      .notNull()
      .generatedAlwaysAs(sql.raw(spreadLevelOf('max_price - min_price')), { mode: 'virtual' }),
  },
  (t) => [
    primaryKey({ columns: [t.lane, t.productId] }),
    index('storefront_entries_product_idx').on(t.productId),
    index('storefront_entries_newest_idx').on(t.lane, t.createdAt, t.productId),
    index('storefront_entries_price_idx').on(t.lane, t.minPrice, t.productId),
    index('storefront_entries_title_idx').on(t.lane, t.title, t.productId),
    index('storefront_entries_spread_idx').on(t.lane, t.spreadLevel, t.minPrice, t.productId),
  ],
);

/**
 * Whole-catalog entries that share their title label with a neighbour (`storefront_entries.title_label`), marked by
 * the write that gave them the label: the storefront-rebuild job spreads the labels of a window of entries around
 * each again (src/modules/storefront/title-respread.ts) and deletes the marks of the entries it spread. No foreign
 * key: a mark whose entry is gone (its product or lane deleted) is dropped by the job, as is one it finds no room
 * around.
 */
export const storefrontTitleCrowds = sqliteTable(
  'storefront_title_crowds',
  {
    lane: integer('lane').notNull(),
    productId: text('product_id').notNull(),
  },
  (t) => [primaryKey({ columns: [t.lane, t.productId] })],
);

export const storefrontSearchRows = sqliteTable(
  'storefront_search_rows',
  {
    /** The rowid of the product's row in storefront_search: numbered in the order products were first sold
     * in the region, so walking the index by rowid, highest first, lists the newest first. */
    row: integer('row').primaryKey(),
    productId: text('product_id')
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    /** No foreign key: a deleted region's pairs go in steps (see the top of this file). */
    regionId: text('region_id').notNull(),
    /** The key of the pair's lowest price when its row in storefront_search_prices was last written (src/db/fts.ts):
     * that row's rowid is `price_key << PAIR_BITS | row`, which a rewrite must name to replace it. */
    priceKey: integer('price_key'),
    /** The same for its row in storefront_search_dates, keyed by the product's `created_at`. */
    dateKey: integer('date_key'),
  },
  (t) => [
    uniqueIndex('storefront_search_rows_uq').on(t.productId, t.regionId),
    index('storefront_search_rows_region_idx').on(t.regionId),
  ],
);

/**
 * A rebuild of the read model in steps (src/modules/storefront/rebuild.ts), for a change whose rows are too many
 * for one D1 batch in a large catalog: a region's currency or locales (that region's rows of every product), a
 * category moved (every lane of the products in it or below it), a collection's product list replaced (every
 * lane of the products it lists now or listed before), a leaf category or a collection deleted (every lane and
 * full-text row of the products it listed, kept in `storefront_rebuild_products`), a region deleted (its rows of
 * every product, then its lanes). The change's own batch
 * rebuilds the first products by id and adds this row; each later step rebuilds the next products after
 * `after_product` and moves it on, and the step that reaches the last product deletes the row.
 */
export const storefrontRebuilds = sqliteTable(
  'storefront_rebuilds',
  {
    /**
     * The region's, category's or collection's id: one rebuild of each at a time, a new change restarting it.
     * A deleted category's or collection's rebuild keeps its id and sets `deleted_list` instead of an owner.
     */
    target: text('target').primaryKey(),
    /** Set for a region's rebuild; the row goes with the region. */
    regionId: text('region_id').references(() => regions.id, { onDelete: 'cascade' }),
    /** Set for a category's rebuild; the row goes with the category. */
    categoryId: text('category_id').references(() => categories.id, { onDelete: 'cascade' }),
    /** Set for a collection's rebuild; the row goes with the collection. */
    collectionId: text('collection_id').references(() => collections.id, { onDelete: 'cascade' }),
    /**
     * Set for a deleted leaf category's or collection's rebuild, whose products are in
     * storefront_rebuild_products, or for a deleted region's ('region'), whose steps delete its rows of every
     * product; its target is gone, so no foreign key names it.
     */
    deletedList: text('deleted_list', { enum: ['category', 'collection', 'region'] }),
    /** The largest product id rebuilt since the latest change of the target; '' before any. */
    afterProduct: text('after_product').notNull(),
    /** When the latest change of the target asked for the rebuild (epoch ms). */
    requestedAt: integer('requested_at').notNull(),
    /**
     * The ids of the products the step under way rebuilds (a JSON array), set by the step's first statement and
     * cleared by its last, in the same batch: its other statements read them here, so the step rebuilds one
     * fixed set of products even where the rows that say which products it covers are ones it rewrites.
     */
    stepProducts: text('step_products'),
  },
  () => [
    check(
      'storefront_rebuilds_target',
      // Plain column names: drizzle would qualify them with the table name, which a rebuild renames.
      sql`target = coalesce(region_id, category_id, collection_id, target)
        AND (region_id IS NOT NULL) + (category_id IS NOT NULL) + (collection_id IS NOT NULL)
          + (deleted_list IS NOT NULL) = 1
        AND (deleted_list IS NULL OR deleted_list IN ('category', 'collection', 'region'))`,
    ),
  ],
);

/**
 * The products a deleted category or collection listed (its links, and a collection's former products that a
 * step of its new list's rebuild had not reached), captured in the delete's batch before the links cascade away:
 * what the steps of the deletion's rebuild walk, by target then product. The step that deletes the mark deletes
 * them. No foreign key to the mark: migrations rebuild storefront_rebuilds (0019-0021), and its DROP TABLE would
 * cascade these rows away while a rebuild is under way.
 */
export const storefrontRebuildProducts = sqliteTable(
  'storefront_rebuild_products',
  {
    target: text('target').notNull(),
    productId: text('product_id')
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
  },
  (t) => [
    primaryKey({ columns: [t.target, t.productId] }),
    index('storefront_rebuild_products_product_idx').on(t.productId),
  ],
);
