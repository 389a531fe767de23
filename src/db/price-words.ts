/**
 * Price words: each full-text row's `lists` (src/db/fts.ts) holds words for its pair's cheapest and dearest price
 * in the region's currency, so that a price bound is a term of the FTS5 query and a listing walks only the products
 * within it, in whatever order the walked copy of the index has (date, title, relevance). A bound is a range of
 * prices, which no single word names; the words are a range tree instead, the price's base-4 digits from the top:
 *
 * - a word per level `l` (0 to the price's highest non-zero base-4 digit) naming the price with its lowest `l`
 *   digits dropped: `ph<l>x<hex of price >> 2l>` for the dearest price, `pl...` for the cheapest;
 * - a word for how many digits the price has: `phm<n>` (`n` = 0 for 0, else 1-20).
 *
 * "At least X" is then X itself, at each of X's levels the (up to three) siblings above X's prefix, and every
 * price with more digits than X: at most 3 per level plus 20 words, each a whole block of prices, so the query
 * matches exactly the products whose dearest price reaches X (likewise "at most Y" below Y, over the cheapest
 * price). A row has about 2 x (digits + 1) such words, some 20 for prices of hundreds of euros in cents; FTS5
 * keeps them in its own pages, so a catalog write writes no more rows for them (D1 counts the row written to the
 * virtual table).
 *
 * The words are written in SQL (`priceWordsSql`, in the statements that write the rows, and migration 0031) and
 * asked for in JavaScript (`priceBoundTerms`); test/helpers/storefront.ts writes them a third way to check both.
 */

/** Prices have at most this many base-4 digits: every amount is below MAX_AMOUNT (10^12) < 4^20. */
export const PRICE_DIGITS = 20;

/** The dearest price's words answer a minimum; the cheapest price's a maximum. */
type Side = 'ph' | 'pl';

/** `price` with its lowest `level` base-4 digits dropped (exact for any safe integer). */
const prefixOf = (price: number, level: number) => Math.floor(price / 4 ** level);

/** How many base-4 digits `price` has (0 for 0). */
function digitsOf(price: number): number {
  let digits = 0;
  while (digits < PRICE_DIGITS + 1 && prefixOf(price, digits) > 0) digits++;
  return digits;
}

const levelWord = (side: Side, level: number, prefix: number) => `${side}${level}x${prefix.toString(16)}`;
const digitsWord = (side: Side, digits: number) => `${side}m${digits}`;

/**
 * The words of a price in SQL, from an SQL expression of it: arguments of concat_ws (a level past the price's
 * digits is NULL, which concat_ws leaves out). One function of many arguments, not a chain of `||`: SQLite
 * refuses an expression more than 100 operators deep.
 */
function sideWordsSql(side: Side, price: string): string[] {
  const levels = Array.from({ length: PRICE_DIGITS }, (_, level) => level);
  const digits = levels.map((level) => `(${price} >> ${2 * level} > 0)`).join(' + ');
  const words = levels.map(
    (level) =>
      `CASE WHEN ${price} >> ${2 * level} > 0 THEN '${side}${level}x' || printf('%x', ${price} >> ${2 * level}) END`,
  );
  return [`'${side}m' || (${digits})`, ...words];
}

/** The price words of a row, in SQL, from SQL expressions of its cheapest and dearest price: each after a space. */
export const priceWordsSql = (cheapest: string, dearest: string) =>
  `concat_ws(' ', '', ${[...sideWordsSql('ph', dearest), ...sideWordsSql('pl', cheapest)].join(', ')})`;

/** The words whose prices are exactly those at or above `min` (min >= 1). */
function atLeast(min: number): string[] {
  const digits = digitsOf(min);
  // Nothing is priced with more than PRICE_DIGITS digits: a word no row has.
  if (digits > PRICE_DIGITS) return [digitsWord('ph', PRICE_DIGITS + 1)];
  const words = [levelWord('ph', 0, min)];
  for (let level = 0; level < digits; level++) {
    const prefix = prefixOf(min, level);
    // Arithmetic, not `| 3`: a prefix can be past 2^32, where JavaScript's bitwise operators wrap.
    const lastSibling = prefix - (prefix % 4) + 3;
    for (let above = prefix + 1; above <= lastSibling; above++) words.push(levelWord('ph', level, above));
  }
  for (let more = digits + 1; more <= PRICE_DIGITS; more++) words.push(digitsWord('ph', more));
  return words;
}

/** The words whose prices are exactly those at or below `max` (max < 4^PRICE_DIGITS). */
function atMost(max: number): string[] {
  const digits = digitsOf(max);
  const words = max === 0 ? [] : [levelWord('pl', 0, max)];
  for (let level = 0; level < digits; level++) {
    const prefix = prefixOf(max, level);
    // Prefix 0 is every price with fewer digits: the digit-count words below.
    for (let below = Math.max(prefix - (prefix % 4), 1); below < prefix; below++) {
      words.push(levelWord('pl', level, below));
    }
  }
  for (let fewer = 0; fewer <= Math.max(digits - 1, 0); fewer++) words.push(digitsWord('pl', fewer));
  return words;
}

/**
 * The FTS5 query terms (of the `lists` column) for a listing's price bounds, or undefined when they leave every
 * price in (no minimum above 0, no maximum below 4^PRICE_DIGITS). Words are letters and digits: no escaping.
 */
export function priceBoundTerms(min: number | undefined, max: number | undefined): string | undefined {
  const groups: string[][] = [];
  if (min !== undefined && min > 0) groups.push(atLeast(min));
  if (max !== undefined && max < 4 ** PRICE_DIGITS - 1) groups.push(atMost(max));
  if (groups.length === 0) return undefined;
  return groups.map((words) => `{lists}: (${words.join(' OR ')})`).join(' AND ');
}
