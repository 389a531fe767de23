import type { StoreEnv } from '../../lib/app-env';
import { createRouter } from '../../lib/openapi';
import { serializeStoreContext } from '../regions/schemas';
import * as routes from './store-routes';
import { categoryTree } from './store-service';

export const storeCategoriesRouter = createRouter<StoreEnv>().openapi(routes.categoryTree, async (c) => {
  const store = c.get('store');
  return c.json({ context: serializeStoreContext(store), data: await categoryTree(c.env.DB, store) }, 200);
});
