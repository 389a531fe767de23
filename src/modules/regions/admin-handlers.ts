import { callerOf } from '../../auth/caller';
import type { AdminEnv } from '../../lib/app-env';
import { createDb } from '../../lib/db';
import { createRouter, respondCreated, sentFields } from '../../lib/openapi';
import * as read from './admin-read';
import * as routes from './admin-routes';
import * as service from './admin-service';

export const adminRegionsRouter = createRouter<AdminEnv>()
  .openapi(routes.createRegion, async (c) =>
    respondCreated(
      c,
      '/v1/admin/regions',
      await service.createRegion(c.env, callerOf(c), c.req.valid('json'), await sentFields(c)),
    ),
  )
  .openapi(routes.listRegions, async (c) =>
    c.json(await read.listRegions(createDb(c.env.DB), c.req.valid('query')), 200),
  )
  .openapi(routes.getRegion, async (c) =>
    c.json(await read.getRegion(createDb(c.env.DB), c.req.valid('param').id), 200),
  )
  .openapi(routes.updateRegion, async (c) => {
    const { id } = c.req.valid('param');
    const region = await service.updateRegion(
      c.env,
      callerOf(c),
      id,
      c.req.valid('json'),
      await sentFields(c),
    );
    return c.json(region, 200);
  })
  .openapi(routes.deleteRegion, async (c) => {
    await service.deleteRegion(c.env, callerOf(c), c.req.valid('param').id);
    return c.body(null, 204);
  });
