/**
 * The storefront's full-text indexes, FTS5 virtual tables (migrations 0017 and 0022), described to drizzle only
 * so catalog writes can put their statements in their batch. They are not in src/db/schema: drizzle-kit cannot
 * create a virtual table and must not try.
 *
 * `storefront_search`: one row per (product, region where it is sold), its rowid the pair's number in
 * storefront_search_rows:
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

/**
 * `storefront_search_prices`: the same rows and words as storefront_search, in the order of the pair's lowest
 * price in the region's currency, so a search sorted by price walks its matches in that order and stops at the
 * page instead of sorting every match. Contentless (it holds the index only; a match is read through its pair's
 * number) and with column detail (enough for `{lists}:` and `{title description}:`).
 *
 * A rowid is `priceKey(lowest price) << PAIR_BITS | the pair's number`; storefront_search_rows keeps each pair's
 * key, so a rewrite finds the row to replace after the price has changed.
 */
export const storefrontSearchPrices = sqliteTable('storefront_search_prices', {
  rowid: integer('rowid').notNull(),
  lists: text('lists').notNull(),
  title: text('title'),
  description: text('description'),
});

/** The bits of a storefront_search_prices rowid that hold the pair's number: 68.7 billion numbers. */
export const PAIR_BITS = 36;

/**
 * Prices below this many minor units are their own key; above it a key stands for 2^14 minor units (163.84 in a
 * currency of cents), so that every price up to MAX_AMOUNT (10^12) has a key below 2^27 and a rowid fits in 63
 * bits. Rows of one exact key are in price order; rows sharing an inexact key are sorted by whoever reads them.
 */
export const EXACT_PRICE_KEYS = 2 ** 26;
const INEXACT_KEY_SHIFT = 14;

/** The key of a price in minor units (an integer from 0 to MAX_AMOUNT), in JavaScript. */
export function priceKey(amount: number): number {
  return amount < EXACT_PRICE_KEYS ? amount : EXACT_PRICE_KEYS + Math.floor(amount / 2 ** INEXACT_KEY_SHIFT);
}

/** The same key in SQL, of an expression. */
export const priceKeySql = (amount: string) =>
  `CASE WHEN ${amount} < ${EXACT_PRICE_KEYS} THEN ${amount} ELSE ${EXACT_PRICE_KEYS} + (${amount} >> ${INEXACT_KEY_SHIFT}) END`;
