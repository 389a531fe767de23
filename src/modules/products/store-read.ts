import { notFound } from '../../lib/errors';
import { paginate } from '../../lib/pagination';
import type { StoreContext } from '../../lib/store-context';
import { hydrateProducts } from './store-hydrate';
import { buildListingQuery, cursorKeyOf, sortOf } from './store-listing';
import { type ListingRow, laneOf } from './store-query-parts';
import type { ListProductsQuery, StoreProduct } from './store-schemas';

/** A page of products: one round trip for the page's ids and sort keys, one for their content. */
export async function listProducts(d1: D1Database, query: ListProductsQuery, store: StoreContext) {
  const { sql, params } = buildListingQuery(query, store);
  const { results } = await d1
    .prepare(sql)
    .bind(...params)
    .all<ListingRow>();
  const sort = sortOf(query);
  const { data, page } = paginate(results, query.limit, sort, cursorKeyOf(query));
  return {
    data: await hydrateProducts(
      d1,
      data.map((row) => row.id),
      store,
    ),
    page,
  };
}

/**
 * A product is visible in a region only when it has an entry in the region's catalog lane (it is sold there). It
 * is looked up among the active products only, by their own index: through the handle index, a draft's or an
 * archived product's row was read to be refused, and the rows read (in Server-Timing) told its handle from one
 * nobody has.
 */
export async function getProductByHandle(
  d1: D1Database,
  handle: string,
  store: StoreContext,
): Promise<StoreProduct> {
  const lane = laneOf({ kind: 'all' }, store);
  const row = await d1
    .prepare(
      `SELECT e.product_id AS id FROM products p INDEXED BY products_active_handle_idx
       CROSS JOIN storefront_entries e ON e.lane = ${lane.sql} AND e.product_id = p.id
       WHERE p.handle = ? AND p.status = 'active'`,
    )
    .bind(...lane.params, handle)
    .first<{ id: string }>();
  const [product] = row ? await hydrateProducts(d1, [row.id], store) : [];
  if (!product) throw notFound('Product');
  return product;
}
