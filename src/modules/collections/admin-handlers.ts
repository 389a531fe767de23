import { callerOf } from '../../auth/caller';
import type { AdminEnv } from '../../lib/app-env';
import { createDb } from '../../lib/db';
import { createRouter, respondCreated, sentFields } from '../../lib/openapi';
import * as read from './admin-read';
import * as routes from './admin-routes';
import * as service from './admin-service';

export const adminCollectionsRouter = createRouter<AdminEnv>()
  .openapi(routes.createCollection, async (c) =>
    respondCreated(
      c,
      '/v1/admin/collections',
      await service.createCollection(c.env, callerOf(c), c.req.valid('json'), await sentFields(c)),
    ),
  )
  .openapi(routes.listCollections, async (c) =>
    c.json(await read.listCollections(createDb(c.env.DB), c.req.valid('query')), 200),
  )
  .openapi(routes.getCollection, async (c) =>
    c.json(await read.getCollection(createDb(c.env.DB), c.req.valid('param').id), 200),
  )
  .openapi(routes.updateCollection, async (c) => {
    const { id } = c.req.valid('param');
    const collection = await service.updateCollection(
      c.env,
      callerOf(c),
      id,
      c.req.valid('json'),
      await sentFields(c),
    );
    return c.json(collection, 200);
  })
  .openapi(routes.deleteCollection, async (c) => {
    await service.deleteCollection(c.env, callerOf(c), c.req.valid('param').id);
    return c.body(null, 204);
  });
