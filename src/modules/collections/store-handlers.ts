import type { StoreEnv } from '../../lib/app-env';
import { createRouter } from '../../lib/openapi';
import { serializeStoreContext } from '../regions/schemas';
import { listCollections } from './store-read';
import * as routes from './store-routes';

export const storeCollectionsRouter = createRouter<StoreEnv>().openapi(routes.listCollections, async (c) => {
  const store = c.get('store');
  const { data, page } = await listCollections(c.env.DB, c.req.valid('query'), store);
  return c.json({ context: serializeStoreContext(store), data, page }, 200);
});
