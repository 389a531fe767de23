import type { AdminEnv } from '../../lib/app-env';
import { createDb } from '../../lib/db';
import { createRouter } from '../../lib/openapi';
import * as read from './admin-read';
import * as routes from './admin-routes';
import * as service from './admin-service';

export const adminProductsRouter = createRouter<AdminEnv>()
  .openapi(routes.createProduct, async (c) => {
    const product = await service.createProduct(c.env, c.req.valid('json'));
    c.header('Location', `/v1/admin/products/${product.id}`);
    return c.json(product, 201);
  })
  .openapi(routes.listProducts, async (c) =>
    c.json(await read.listProducts(createDb(c.env.DB), c.req.valid('query')), 200),
  )
  .openapi(routes.getProduct, async (c) =>
    c.json(await read.getProduct(createDb(c.env.DB), c.req.valid('param').id), 200),
  )
  .openapi(routes.updateProduct, async (c) => {
    const product = await service.updateProduct(c.env, c.req.valid('param').id, c.req.valid('json'));
    return c.json(product, 200);
  })
  .openapi(routes.archiveProduct, async (c) =>
    c.json(await service.archiveProduct(c.env, c.req.valid('param').id), 200),
  )
  .openapi(routes.deleteProduct, async (c) => {
    await service.deleteProduct(c.env, c.req.valid('param').id);
    return c.body(null, 204);
  });
