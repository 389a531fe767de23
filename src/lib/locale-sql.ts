import { type SQL, sql } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';

/**
 * Locale preference in SQL with a single bound parameter: the chain is passed as ",de,en,fr," and a row's
 * position in it (instr) orders translations; locales outside the chain sort last. Locale codes are validated
 * (letters, digits and hyphens), so they cannot contain the separator.
 */
export function localeChainParam(chain: string[]): string {
  return `,${chain.join(',')},`;
}

/** An ORDER BY expression ranking `column` by the chain bound at the `?` it contains. */
export function localePreference(column: string): string {
  return `COALESCE(NULLIF(instr(?, ',' || ${column} || ','), 0), 1000000)`;
}

/** The same ranking for drizzle queries: `column`'s position in `chain`, locales outside it last. */
export function localeRank(column: SQL | SQLiteColumn, chain: string[]): SQL {
  return sql`COALESCE(NULLIF(instr(${localeChainParam(chain)}, ',' || ${column} || ','), 0), 1000000)`;
}
