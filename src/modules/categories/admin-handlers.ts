import { callerOf } from '../../auth/caller';
import type { AdminEnv } from '../../lib/app-env';
import { createDb } from '../../lib/db';
import { createRouter, respondCreated, sentFields } from '../../lib/openapi';
import * as read from './admin-read';
import * as routes from './admin-routes';
import * as service from './admin-service';

export const adminCategoriesRouter = createRouter<AdminEnv>()
  .openapi(routes.createCategory, async (c) =>
    respondCreated(
      c,
      '/v1/admin/categories',
      await service.createCategory(c.env, callerOf(c), c.req.valid('json'), await sentFields(c)),
    ),
  )
  .openapi(routes.listCategories, async (c) =>
    c.json(await read.listCategories(createDb(c.env.DB), c.req.valid('query')), 200),
  )
  .openapi(routes.getCategory, async (c) =>
    c.json(await read.getCategory(createDb(c.env.DB), c.req.valid('param').id), 200),
  )
  .openapi(routes.updateCategory, async (c) => {
    const { id } = c.req.valid('param');
    const category = await service.updateCategory(
      c.env,
      callerOf(c),
      id,
      c.req.valid('json'),
      await sentFields(c),
    );
    return c.json(category, 200);
  })
  .openapi(routes.deleteCategory, async (c) => {
    await service.deleteCategory(c.env, callerOf(c), c.req.valid('param').id);
    return c.body(null, 204);
  });
