import type { AdminEnv } from '../../lib/app-env';
import { createDb } from '../../lib/db';
import { createRouter } from '../../lib/openapi';
import * as read from './admin-read';
import * as routes from './admin-routes';
import * as service from './admin-service';

export const adminCollectionsRouter = createRouter<AdminEnv>()
  .openapi(routes.createCollection, async (c) => {
    const collection = await service.createCollection(c.env, c.req.valid('json'));
    c.header('Location', `/v1/admin/collections/${collection.id}`);
    return c.json(collection, 201);
  })
  .openapi(routes.listCollections, async (c) =>
    c.json(await read.listCollections(createDb(c.env.DB), c.req.valid('query')), 200),
  )
  .openapi(routes.getCollection, async (c) =>
    c.json(await read.getCollection(createDb(c.env.DB), c.req.valid('param').id), 200),
  )
  .openapi(routes.updateCollection, async (c) => {
    const collection = await service.updateCollection(c.env, c.req.valid('param').id, c.req.valid('json'));
    return c.json(collection, 200);
  })
  .openapi(routes.deleteCollection, async (c) => {
    await service.deleteCollection(c.env, c.req.valid('param').id);
    return c.body(null, 204);
  });
