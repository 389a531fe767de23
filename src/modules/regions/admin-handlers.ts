import type { AdminEnv } from '../../lib/app-env';
import { createDb } from '../../lib/db';
import { createRouter } from '../../lib/openapi';
import * as read from './admin-read';
import * as routes from './admin-routes';
import * as service from './admin-service';

export const adminRegionsRouter = createRouter<AdminEnv>()
  .openapi(routes.createRegion, async (c) => {
    const region = await service.createRegion(c.env, c.req.valid('json'));
    c.header('Location', `/v1/admin/regions/${region.id}`);
    return c.json(region, 201);
  })
  .openapi(routes.listRegions, async (c) =>
    c.json(await read.listRegions(createDb(c.env.DB), c.req.valid('query')), 200),
  )
  .openapi(routes.getRegion, async (c) =>
    c.json(await read.getRegion(createDb(c.env.DB), c.req.valid('param').id), 200),
  )
  .openapi(routes.updateRegion, async (c) => {
    const region = await service.updateRegion(c.env, c.req.valid('param').id, c.req.valid('json'));
    return c.json(region, 200);
  })
  .openapi(routes.deleteRegion, async (c) => {
    await service.deleteRegion(c.env, c.req.valid('param').id);
    return c.body(null, 204);
  });
