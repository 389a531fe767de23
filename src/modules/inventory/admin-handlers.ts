import { callerOf } from '../../auth/caller';
import type { AdminEnv } from '../../lib/app-env';
import { createRouter } from '../../lib/openapi';
import * as read from './admin-read';
import * as routes from './admin-routes';
import * as service from './admin-service';

export const adminInventoryRouter = createRouter<AdminEnv>()
  .openapi(routes.getInventory, async (c) =>
    c.json(await read.getInventory(c.env, c.req.valid('param').variant_id), 200),
  )
  .openapi(routes.setOnHand, async (c) =>
    c.json(
      await service.setOnHand(c.env, callerOf(c), c.req.valid('param').variant_id, c.req.valid('json')),
      200,
    ),
  )
  .openapi(routes.updateSettings, async (c) =>
    c.json(
      await service.updateSettings(c.env, callerOf(c), c.req.valid('param').variant_id, c.req.valid('json')),
      200,
    ),
  )
  .openapi(routes.adjustOnHand, async (c) =>
    c.json(
      await service.adjustOnHand(c.env, callerOf(c), c.req.valid('param').variant_id, c.req.valid('json')),
      200,
    ),
  )
  .openapi(routes.listReservations, async (c) =>
    c.json(await read.listReservations(c.env, c.req.valid('param').variant_id, c.req.valid('query')), 200),
  );
