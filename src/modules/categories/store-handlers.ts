import type { StoreEnv } from '../../lib/app-env';
import { createRouter } from '../../lib/openapi';
import { serializeStoreContext } from '../regions/schemas';
import { categoryTree } from './store-read';
import * as routes from './store-routes';

export const storeCategoriesRouter = createRouter<StoreEnv>().openapi(routes.categoryTree, async (c) => {
  const store = c.get('store');
  return c.json({ context: serializeStoreContext(store), data: await categoryTree(c.env.DB, store) }, 200);
});
