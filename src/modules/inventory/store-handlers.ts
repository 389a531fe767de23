import type { StoreEnv } from '../../lib/app-env';
import { createRouter } from '../../lib/openapi';
import { timed } from '../../middleware/request-context';
import { productAvailability, productStockLevels } from './store-read';
import * as routes from './store-routes';

export const storeInventoryRouter = createRouter<StoreEnv>()
  .openapi(routes.getAvailability, async (c) => {
    const availability = await timed(c.get('timings'), 'stock', () =>
      productAvailability(c.env, c.req.valid('param').id),
    );
    // Exact stock changes with every cart: no browser, proxy or edge may keep it.
    c.header('Cache-Control', 'no-store');
    return c.json(availability, 200);
  })
  .openapi(routes.getStockLevels, async (c) => {
    const levels = await timed(c.get('timings'), 'db', () =>
      productStockLevels(c.env.DB, c.req.valid('query').product_ids),
    );
    // Levels move only at thresholds; a few seconds in the browser absorb a page's repeat views.
    c.header('Cache-Control', 'public, max-age=5');
    return c.json(levels, 200);
  });
