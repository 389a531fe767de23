import { notFound } from '../../lib/errors';
import { paginate } from '../../lib/pagination';
import type { StoreContext } from '../../lib/store-context';
import { hydrateProducts } from './store-hydrate';
import { buildListingQuery, type ListingRow, sortKeyOf, sortOf } from './store-listing';
import type { ListProductsQuery, StoreProduct } from './store-schemas';

export async function listProducts(d1: D1Database, query: ListProductsQuery, store: StoreContext) {
  const { sql, params } = buildListingQuery(query, store);
  const { results } = await d1
    .prepare(sql)
    .bind(...params)
    .all<ListingRow>();
  const sort = sortOf(query);
  const { data, page } = paginate(results, query.limit, sort, sortKeyOf(sort));
  return {
    data: await hydrateProducts(
      d1,
      data.map((row) => row.id),
      store,
    ),
    page,
  };
}

/** A product is visible in a region only when it is active and has a variant priced in the region's currency. */
export async function getProductByHandle(
  d1: D1Database,
  handle: string,
  store: StoreContext,
): Promise<StoreProduct> {
  const row = await d1
    .prepare(`SELECT id FROM products WHERE handle = ? AND status = 'active'`)
    .bind(handle)
    .first<{ id: string }>();
  const [product] = row ? await hydrateProducts(d1, [row.id], store) : [];
  if (!product) throw notFound('Product');
  return product;
}
