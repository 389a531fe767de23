/**
 * The storefront's full-text indexes, FTS5 virtual tables (migrations 0017, 0022, 0023 and 0026; 0025 added the
 * option words), described to drizzle only so catalog writes can put their statements in their batch. They are not in
 * src/db/schema: drizzle-kit cannot create a virtual table and must not try.
 *
 * `storefront_search`: one row per (product, region where it is sold), its rowid the pair's number in
 * storefront_search_rows:
 * - `product_id` (not indexed);
 * - `lists`: the region's id, then every category (with its ancestors) and collection the product is listed in
 *   there, then a word for each option value of its variants (`optionWordSql`), so a listing filters by region,
 *   list and option value inside the index instead of reading each match;
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
 * Two ordered copies of storefront_search, `storefront_search_prices` and `storefront_search_dates`: the same rows
 * and words, in the order of the pair's lowest price in the region's currency, or of the product's creation, so
 * a search sorted by price or by date walks its matches in that order and stops at the page instead of sorting
 * every match. Contentless (they hold the index only; a match is read through its pair's number), with full
 * detail like storefront_search, so every query the shopper's words make runs on all three.
 *
 * A rowid is `key << PAIR_BITS | the pair's number`; storefront_search_rows keeps each pair's keys, so a rewrite
 * finds the row to replace after a price has changed. A rowid is never read into JavaScript: it can be above 2^53.
 */
export const storefrontSearchPrices = sqliteTable('storefront_search_prices', {
  rowid: integer('rowid').notNull(),
  lists: text('lists').notNull(),
  title: text('title'),
  description: text('description'),
});

export const storefrontSearchDates = sqliteTable('storefront_search_dates', {
  rowid: integer('rowid').notNull(),
  lists: text('lists').notNull(),
  title: text('title'),
  description: text('description'),
});

/**
 * A title-ordered copy of storefront_search, `storefront_search_titles`: a row per (product, region, locale), the
 * words of the pair's row with the word of its locale's whole-catalog lane (`titleLaneWordSql`), so a listing by
 * title walks the matches of its lane in title order and stops at the page. A title is not a number, so each
 * whole-catalog entry carries a label (`storefront_entries.title_label`) that is non-decreasing in (title, product
 * id) order within its lane: a written entry takes a label between its neighbours' (statements.ts). Entries that
 * share a label are read together and sorted by the query, as a date key's are, until the storefront-rebuild job
 * spreads them again (src/modules/storefront/title-respread.ts). The rowid is `title_label <<
 * PAIR_BITS | place`, where place is the pair's number shifted by LOCALE_BITS with the locale's position in the
 * region's locales; the entry keeps it (`title_row`), so the row goes when the entry does (a trigger). A pair
 * numbered from 2^(PAIR_BITS - LOCALE_BITS) (67 million pairs first sold in one database) has no row there, so it
 * is missing from these listings.
 */
export const storefrontSearchTitles = sqliteTable('storefront_search_titles', {
  rowid: integer('rowid').notNull(),
  lists: text('lists').notNull(),
  title: text('title'),
  description: text('description'),
});

/** The bits of a title row's place that hold the locale's position in its region's locales (at most 20). */
export const LOCALE_BITS = 5;

/** The word of a whole-catalog lane in storefront_search_titles's `lists`, from an SQL expression of its number. */
export const titleLaneWordSql = (lane: string) => `('ln' || ${lane})`;

/**
 * The bits of an ordered copy's rowid that hold the pair's number: 2^31 numbers. A pair numbered past them (2.1
 * billion pairs first sold, in the life of one database) has no row there: statements.ts leaves it out.
 */
export const PAIR_BITS = 31;

/** The pair's number in a title row's rowid `row` (an SQL expression): the rowid of its pair's storefront_search row. */
export const titleRowPairSql = (row: string) => `((${row} & ${2 ** PAIR_BITS - 1}) >> ${LOCALE_BITS})`;

/** Keys are below 2^32 - 1, so that a key plus one, shifted by PAIR_BITS, is still below 2^63. Title labels too. */
export const LARGEST_KEY = 2 ** 32 - 2;

/**
 * Prices below 2^31 minor units (21.4 million in a currency of cents) are their own key; above, a key stands for
 * 2^9 minor units. Rows of one exact key are in price order; rows sharing an inexact key are sorted by whoever
 * reads them.
 */
const EXACT_PRICE_KEYS = 2 ** 31;
const INEXACT_PRICE_SHIFT = 9;

/**
 * A date key stands for 2^10 ms (about a second) of `created_at`, epoch ms: no key is exact. Keys last until
 * 2109; a time outside them takes the nearest key.
 */
const DATE_SHIFT = 10;

/** How one ordered copy keys its rows. */
export type SearchOrder = {
  table: 'storefront_search_prices' | 'storefront_search_dates';
  /** The storefront_search_rows column that keeps the key each pair's row was written under. */
  keyColumn: 'price_key' | 'date_key';
  /** The storefront_entries column (and listing row field) the copy is in the order of. */
  field: 'min_price' | 'created_at';
  /** Keys below this stand for one value, so their rows are in order already. */
  exactBelow: number;
  /**
   * The key of a value, in JavaScript. A bound from a client can be any safe integer: it is clamped to the keys'
   * range, which no stored value lies outside of.
   */
  key: (value: number) => number;
  /** The key of an SQL expression that is a stored value (a price, a `created_at`). */
  keySql: (value: string) => string;
};

export const BY_PRICE: SearchOrder = {
  table: 'storefront_search_prices',
  keyColumn: 'price_key',
  field: 'min_price',
  exactBelow: EXACT_PRICE_KEYS,
  key: (amount) => {
    const clamped = Math.max(amount, 0);
    const key =
      clamped < EXACT_PRICE_KEYS
        ? clamped
        : EXACT_PRICE_KEYS + Math.floor(clamped / 2 ** INEXACT_PRICE_SHIFT);
    return Math.min(key, LARGEST_KEY);
  },
  // Every price is below MAX_AMOUNT (10^12), whose key is below 2^32 - 2^22.
  keySql: (amount) =>
    `CASE WHEN ${amount} < ${EXACT_PRICE_KEYS} THEN ${amount}
      ELSE ${EXACT_PRICE_KEYS} + (${amount} >> ${INEXACT_PRICE_SHIFT}) END`,
};

export const BY_DATE: SearchOrder = {
  table: 'storefront_search_dates',
  keyColumn: 'date_key',
  field: 'created_at',
  exactBelow: 0,
  key: (ms) => Math.min(Math.max(Math.floor(ms / 2 ** DATE_SHIFT), 0), LARGEST_KEY),
  keySql: (ms) => `max(0, min(${ms} >> ${DATE_SHIFT}, ${LARGEST_KEY}))`,
};

/** Every ordered copy, in the order storefront_search_rows declares their key columns. */
export const SEARCH_ORDERS = [BY_PRICE, BY_DATE] as const;

/**
 * The word of an option value in a full-text row's `lists`, in SQL from SQL expressions of its name and value: `o`
 * and the hex of both (UTF-8, joined by the unit separator, char 31), one word to the tokenizer whatever the text.
 * A listing filtered by option values finds the products that have them inside the index; which variant has them
 * all, priced in the region, is still checked against the product's document (which also tells apart the rare
 * pairs whose names or values hold char 31 and so share a word).
 */
export const optionWordSql = (name: string, value: string) => `('o' || hex(${name} || char(31) || ${value}))`;
