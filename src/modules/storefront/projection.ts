/**
 * The storefront read model's statements as drizzle queries, for a catalog write's batch. (drizzle's raw
 * `db.run(sql)` cannot carry bound values inside a D1 batch, its query builders can.)
 */
import { getTableColumns, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import {
  SEARCH_ORDERS,
  storefrontSearch,
  storefrontSearchDates,
  storefrontSearchPrices,
  storefrontSearchTitles,
} from '../../db/fts';
import {
  storefrontDocuments,
  storefrontEntries,
  storefrontLanes,
  storefrontSearchRows,
  storefrontTitleCrowds,
} from '../../db/schema';
import type { Database } from '../../lib/db';
import { type StorefrontScope, type StorefrontTable, storefrontStatements } from './statements';

export type { StorefrontScope } from './statements';

const TABLES = {
  storefront_documents: storefrontDocuments,
  storefront_lanes: storefrontLanes,
  storefront_entries: storefrontEntries,
  storefront_search_rows: storefrontSearchRows,
  storefront_search: storefrontSearch,
  storefront_search_prices: storefrontSearchPrices,
  storefront_search_dates: storefrontSearchDates,
  storefront_search_titles: storefrontSearchTitles,
  storefront_title_crowds: storefrontTitleCrowds,
} satisfies Record<StorefrontTable, unknown>;

/** On a pair numbered already, the keys of its ordered rows as the numbering computed them. */
const ORDERED_KEYS = Object.fromEntries(
  Object.entries(getTableColumns(storefrontSearchRows))
    .filter(([, column]) => SEARCH_ORDERS.some((order) => order.keyColumn === column.name))
    .map(([field, column]) => [field, sql.raw(`excluded.${column.name}`)]),
);

/**
 * The statements to put in a catalog write's batch so the read model follows it.
 *
 * @example statements: [db.update(products).set(patch).where(eq(products.id, id)), ...refreshStorefront(db, { products: [id] })]
 */
export function refreshStorefront(db: Database, scope: StorefrontScope): BatchItem<'sqlite'>[] {
  return storefrontStatements(scope).map((statement) => {
    if ('delete' in statement) return db.delete(TABLES[statement.delete]).where(statement.where);
    if ('titleRows' in statement) {
      const { value, where } = statement.titleRows;
      return db.update(storefrontEntries).set({ titleRow: value }).where(where);
    }
    if ('numberPairs' in statement) {
      return db
        .insert(storefrontSearchRows)
        .select(statement.numberPairs)
        .onConflictDoUpdate({
          target: [storefrontSearchRows.productId, storefrontSearchRows.regionId],
          set: ORDERED_KEYS,
        });
    }
    const insert = db.insert(TABLES[statement.insert]).select(statement.select);
    return statement.skipExisting ? insert.onConflictDoNothing() : insert;
  });
}
