import type { AdminEnv } from '../../lib/app-env';
import { createDb } from '../../lib/db';
import { createRouter } from '../../lib/openapi';
import * as read from './admin-read';
import * as routes from './admin-routes';
import * as service from './admin-service';

export const adminCategoriesRouter = createRouter<AdminEnv>()
  .openapi(routes.createCategory, async (c) => {
    const category = await service.createCategory(c.env, c.req.valid('json'));
    c.header('Location', `/v1/admin/categories/${category.id}`);
    return c.json(category, 201);
  })
  .openapi(routes.listCategories, async (c) =>
    c.json(await read.listCategories(createDb(c.env.DB), c.req.valid('query')), 200),
  )
  .openapi(routes.getCategory, async (c) =>
    c.json(await read.getCategory(createDb(c.env.DB), c.req.valid('param').id), 200),
  )
  .openapi(routes.updateCategory, async (c) => {
    const category = await service.updateCategory(c.env, c.req.valid('param').id, c.req.valid('json'));
    return c.json(category, 200);
  })
  .openapi(routes.deleteCategory, async (c) => {
    await service.deleteCategory(c.env, c.req.valid('param').id);
    return c.body(null, 204);
  });
