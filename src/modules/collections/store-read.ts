import { localeChainParam, localePreference } from '../../lib/locale-sql';
import { decodeCursor, paginate } from '../../lib/pagination';
import type { StoreContext } from '../../lib/store-context';
import type { ListCollectionsQuery } from './store-schemas';

type Row = { id: string; handle: string; title: string; description: string };

const SORT = 'handle';

/** Collections by handle, keyset-paginated, titled along the locale chain. */
export async function listCollections(d1: D1Database, query: ListCollectionsQuery, store: StoreContext) {
  const after = query.cursor ? decodeCursor(query.cursor, SORT, ['text'])[0] : undefined;
  const { results } = await d1
    .prepare(
      `SELECT c.id, c.handle, t.title, t.description FROM collections c
       JOIN collection_translations t ON t.collection_id = c.id AND t.locale = (
         SELECT locale FROM collection_translations WHERE collection_id = c.id
         ORDER BY ${localePreference('locale')}, locale LIMIT 1)
       WHERE c.handle > ? ORDER BY c.handle LIMIT ?`,
    )
    .bind(localeChainParam(store.localeChain), after ?? '', query.limit + 1)
    .all<Row>();
  return paginate(results, query.limit, SORT, (row) => [row.handle]);
}
