/** A storefront listing read page after page, as a client follows `next_cursor`. */
import { env } from 'cloudflare:workers';
import type { StoreContext } from '../../src/lib/store-context';
import { listProducts } from '../../src/modules/products/store-read';
import { ListProductsQuery } from '../../src/modules/products/store-schemas';

/** The ids of the products on the listing's first `pages` pages of `limit` (every page unless told), in order. */
export async function listedIds(
  store: StoreContext,
  fields: Record<string, string | string[]>,
  { limit = 20, pages = Number.POSITIVE_INFINITY }: { limit?: number; pages?: number } = {},
): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let n = 0; n < pages; n++) {
    const query = ListProductsQuery.parse({ ...fields, limit: String(limit), ...(cursor ? { cursor } : {}) });
    const { data, page } = await listProducts(env.DB, query, store);
    ids.push(...data.map((product) => product.id));
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return ids;
}
