/**
 * The storefront's full-text index, an FTS5 virtual table (migration 0017), described to drizzle only so catalog
 * writes can put its statements in their batch. It is not in src/db/schema: drizzle-kit cannot create a virtual
 * table and must not try.
 *
 * One row per (product, region where it is sold), its rowid the pair's number in storefront_search_rows:
 * - `product_id` (not indexed);
 * - `lists`: the region's id, then every category (with its ancestors) and collection the product is listed in
 *   there, so a search filters by region and list inside the index instead of reading each match;
 * - `title`, `description`: the product's text in each of the region's locales, by locale.
 */
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const storefrontSearch = sqliteTable('storefront_search', {
  rowid: integer('rowid').notNull(),
  productId: text('product_id').notNull(),
  lists: text('lists').notNull(),
  title: text('title'),
  description: text('description'),
});
