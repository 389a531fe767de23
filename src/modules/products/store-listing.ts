/**
 * The storefront listing query: one SQL statement that filters, sorts and keyset-paginates the products sold in a
 * region (active, and at least one variant priced in its currency). Every value is bound; only fixed fragments
 * chosen from the enums below are concatenated.
 */

import { localeChainParam, localePreference } from '../../lib/locale-sql';
import { decodeCursor, type KeyShape } from '../../lib/pagination';
import type { StoreContext } from '../../lib/store-context';
import { toFtsQuery } from './search-query';
import type { ListProductsQuery, ProductSort } from './store-schemas';

export type ListingRow = { id: string; created_at: number; min_price: number; title: string; rank: number };

/** `shape` is what a cursor's key must hold for the `keyset` placeholders: a forged cursor is a 422, not a 500. */
type SortSpec = {
  order: string;
  keyset: string;
  shape: KeyShape;
  key: (row: ListingRow) => (string | number)[];
};

const SORTS: Record<ProductSort, SortSpec> = {
  newest: {
    order: 'created_at DESC, id DESC',
    keyset: '(created_at, id) < (?, ?)',
    shape: ['integer', 'text'],
    key: (r) => [r.created_at, r.id],
  },
  price_asc: {
    order: 'min_price ASC, id ASC',
    keyset: '(min_price, id) > (?, ?)',
    shape: ['integer', 'text'],
    key: (r) => [r.min_price, r.id],
  },
  price_desc: {
    order: 'min_price DESC, id DESC',
    keyset: '(min_price, id) < (?, ?)',
    shape: ['integer', 'text'],
    key: (r) => [r.min_price, r.id],
  },
  title_asc: {
    order: 'title ASC, id ASC',
    keyset: '(title, id) > (?, ?)',
    shape: ['text', 'text'],
    key: (r) => [r.title, r.id],
  },
  title_desc: {
    order: 'title DESC, id DESC',
    keyset: '(title, id) < (?, ?)',
    shape: ['text', 'text'],
    key: (r) => [r.title, r.id],
  },
  relevance: {
    order: 'rank ASC, id ASC',
    keyset: '(rank, id) > (?, ?)',
    shape: ['number', 'text'],
    key: (r) => [r.rank, r.id],
  },
};

export function sortOf(query: ListProductsQuery): ProductSort {
  return query.sort ?? (query.q ? 'relevance' : 'newest');
}

export function sortKeyOf(sort: ProductSort) {
  return SORTS[sort].key;
}

export function buildListingQuery(
  query: ListProductsQuery,
  store: StoreContext,
): { sql: string; params: unknown[] } {
  const sort = sortOf(query);
  const currency = store.region.currencyCode;
  const chain = localeChainParam(store.localeChain);
  const params: unknown[] = [chain, currency];
  const where: string[] = [`p.status = 'active'`];
  let searchJoin = '';

  if (query.q) {
    // Title matches weigh ten times description matches; text in any locale of the region's chain counts.
    // bm25() cannot be aggregated directly, but FTS5's rank column, configured to the same bm25, can.
    searchJoin = `JOIN (
        SELECT product_id, MIN(rank) AS rank FROM product_search
        WHERE product_search MATCH ? AND rank MATCH 'bm25(0.0, 0.0, 10.0, 1.0)'
          AND instr(?, ',' || locale || ',') > 0
        GROUP BY product_id
      ) hit ON hit.product_id = p.id`;
    params.push(toFtsQuery(query.q), chain);
  }

  const variantConditions: string[] = [];
  const variantParams: unknown[] = [];
  if (query.price_min !== undefined) {
    variantConditions.push('pr.amount >= ?');
    variantParams.push(query.price_min);
  }
  if (query.price_max !== undefined) {
    variantConditions.push('pr.amount <= ?');
    variantParams.push(query.price_max);
  }
  for (const option of query.option) {
    // json_each compares the bound name as a plain key: no JSON path is built from client text, so quotes,
    // backslashes, dots or brackets in a name match literally instead of breaking (or steering) a path.
    variantConditions.push('EXISTS (SELECT 1 FROM json_each(v.options) o WHERE o.key = ? AND o.value = ?)');
    variantParams.push(option.name, option.value);
  }
  if (variantConditions.length > 0) {
    // CROSS JOIN pins the join order: SQLite otherwise walks every price in the currency for each product.
    where.push(`EXISTS (SELECT 1 FROM variants v CROSS JOIN prices pr ON pr.variant_id = v.id AND pr.currency_code = ?
      WHERE v.product_id = p.id AND ${variantConditions.join(' AND ')})`);
    params.push(currency, ...variantParams);
  }
  if (query.category) {
    where.push(`p.id IN (SELECT pc.product_id FROM product_categories pc WHERE pc.category_id IN (
        WITH RECURSIVE tree(id) AS (
          SELECT id FROM categories WHERE handle = ?
          UNION SELECT c.id FROM categories c JOIN tree ON c.parent_id = tree.id
        ) SELECT id FROM tree))`);
    params.push(query.category);
  }
  if (query.collection) {
    where.push(`p.id IN (SELECT pcol.product_id FROM product_collections pcol
      JOIN collections col ON col.id = pcol.collection_id WHERE col.handle = ?)`);
    params.push(query.collection);
  }

  const spec = SORTS[sort];
  const outer: string[] = [];
  if (query.cursor) {
    outer.push(spec.keyset);
    params.push(...decodeCursor(query.cursor, sort, spec.shape));
  }
  params.push(query.limit + 1);

  const sql = `SELECT * FROM (
      SELECT p.id, p.created_at, sold.min_price,
        (SELECT title FROM product_translations WHERE product_id = p.id
          ORDER BY ${localePreference('locale')}, locale LIMIT 1) AS title,
        ${query.q ? 'hit.rank' : '0'} AS rank
      FROM products p
      JOIN (SELECT v.product_id, MIN(pr.amount) AS min_price FROM variants v
            JOIN prices pr ON pr.variant_id = v.id AND pr.currency_code = ? GROUP BY v.product_id) sold
        ON sold.product_id = p.id
      ${searchJoin}
      WHERE ${where.join(' AND ')}
    ) ${outer.length ? `WHERE ${outer.join(' AND ')}` : ''}
    ORDER BY ${spec.order} LIMIT ?`;
  return { sql, params };
}
