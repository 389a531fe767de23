import type { StoreEnv } from '../../lib/app-env';
import { createRouter } from '../../lib/openapi';
import { timed } from '../../middleware/request-context';
import { serializeStoreContext } from '../regions/schemas';
import { getProductByHandle, listProducts } from './store-read';
import * as routes from './store-routes';

export const storeProductsRouter = createRouter<StoreEnv>()
  .openapi(routes.listProducts, async (c) => {
    const store = c.get('store');
    const { data, page } = await timed(c.get('timings'), 'db', () =>
      listProducts(c.env.DB, c.req.valid('query'), store),
    );
    return c.json({ context: serializeStoreContext(store), data, page }, 200);
  })
  .openapi(routes.getProduct, async (c) => {
    const store = c.get('store');
    const product = await timed(c.get('timings'), 'db', () =>
      getProductByHandle(c.env.DB, c.req.valid('param').handle, store),
    );
    return c.json({ context: serializeStoreContext(store), product }, 200);
  });
