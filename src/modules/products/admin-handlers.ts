import { callerOf } from '../../auth/caller';
import type { AdminEnv } from '../../lib/app-env';
import { createDb } from '../../lib/db';
import { createRouter, respondCreated, sentFields } from '../../lib/openapi';
import * as read from './admin-read';
import * as routes from './admin-routes';
import * as service from './admin-service';

export const adminProductsRouter = createRouter<AdminEnv>()
  .openapi(routes.createProduct, async (c) =>
    respondCreated(
      c,
      '/v1/admin/products',
      await service.createProduct(c.env, callerOf(c), c.req.valid('json'), await sentFields(c)),
    ),
  )
  .openapi(routes.listProducts, async (c) =>
    c.json(await read.listProducts(createDb(c.env.DB), c.req.valid('query')), 200),
  )
  .openapi(routes.getProduct, async (c) =>
    c.json(await read.getProduct(createDb(c.env.DB), c.req.valid('param').id), 200),
  )
  .openapi(routes.updateProduct, async (c) => {
    const { id } = c.req.valid('param');
    const product = await service.updateProduct(
      c.env,
      callerOf(c),
      id,
      c.req.valid('json'),
      await sentFields(c),
    );
    return c.json(product, 200);
  })
  .openapi(routes.archiveProduct, async (c) =>
    c.json(await service.archiveProduct(c.env, callerOf(c), c.req.valid('param').id), 200),
  )
  .openapi(routes.deleteProduct, async (c) => {
    await service.deleteProduct(c.env, callerOf(c), c.req.valid('param').id);
    return c.body(null, 204);
  });
