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
 * number), with full detail like storefront_search, so every query the shopper's words make runs on both.
 *
 * A rowid is `priceKey(lowest price) << PAIR_BITS | the pair's number`; storefront_search_rows keeps each pair's
 * key, so a rewrite finds the row to replace after the price has changed. A rowid is never read into
 * JavaScript: it can be above 2^53.
 */
export const storefrontSearchPrices = sqliteTable('storefront_search_prices', {
  rowid: integer('rowid').notNull(),
  lists: text('lists').notNull(),
  title: text('title'),
  description: text('description'),
});

/**
 * The bits of a storefront_search_prices rowid that hold the pair's number: 2^31 numbers. A pair numbered past
 * them (2.1 billion pairs first sold, in the life of one database) has no row there: statements.ts leaves it out.
 */
export const PAIR_BITS = 31;

/**
 * Prices below 2^31 minor units (21.4 million in a currency of cents) are their own key; above, a key stands for
 * 2^9 minor units. Rows of one exact key are in price order; rows sharing an inexact key are sorted by whoever
 * reads them.
 */
export const EXACT_PRICE_KEYS = 2 ** 31;
const INEXACT_KEY_SHIFT = 9;

/**
 * The largest amount with a key of its own range: every price is below it (MAX_AMOUNT is 10^12), and its key
 * plus one, shifted by PAIR_BITS, is still below 2^63.
 */
const LARGEST_KEYED_AMOUNT = 2 ** 40 - 2 ** INEXACT_KEY_SHIFT - 1;

/**
 * The key of an amount in minor units, in JavaScript. A bound from a client can be any safe integer: it is
 * clamped to the amounts keys cover, which no price lies outside of.
 */
export function priceKey(amount: number): number {
  const clamped = Math.min(Math.max(amount, 0), LARGEST_KEYED_AMOUNT);
  return clamped < EXACT_PRICE_KEYS
    ? clamped
    : EXACT_PRICE_KEYS + Math.floor(clamped / 2 ** INEXACT_KEY_SHIFT);
}

/** The same key in SQL, of an expression that is a price (so within the keyed range). */
export const priceKeySql = (amount: string) =>
  `CASE WHEN ${amount} < ${EXACT_PRICE_KEYS} THEN ${amount} ELSE ${EXACT_PRICE_KEYS} + (${amount} >> ${INEXACT_KEY_SHIFT}) END`;
