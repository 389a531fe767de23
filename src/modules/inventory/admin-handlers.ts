import { callerOf } from '../../auth/caller';
import type { AdminEnv } from '../../lib/app-env';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, idempotencyKeyOf } from '../../lib/idempotency';
import { createRouter } from '../../lib/openapi';
import * as read from './admin-read';
import * as routes from './admin-routes';
import * as service from './admin-service';

const replayedHeaders = (change: service.StaffStockChange): Record<string, string> =>
  change.replayed ? { [IDEMPOTENT_REPLAYED_HEADER]: 'true' } : {};

export const adminInventoryRouter = createRouter<AdminEnv>()
  .openapi(routes.getInventory, async (c) =>
    c.json(await read.getInventory(c.env, c.req.valid('param').variant_id), 200),
  )
  .openapi(routes.setOnHand, async (c) => {
    const { variant_id } = c.req.valid('param');
    const key = idempotencyKeyOf(c.req.header(IDEMPOTENCY_KEY_HEADER));
    const change = await service.setOnHand(c.env, callerOf(c), variant_id, c.req.valid('json'), key);
    return c.json(change.inventory, 200, replayedHeaders(change));
  })
  .openapi(routes.updateSettings, async (c) =>
    c.json(
      await service.updateSettings(c.env, callerOf(c), c.req.valid('param').variant_id, c.req.valid('json')),
      200,
    ),
  )
  .openapi(routes.adjustOnHand, async (c) => {
    const { variant_id } = c.req.valid('param');
    const key = idempotencyKeyOf(c.req.header(IDEMPOTENCY_KEY_HEADER));
    const change = await service.adjustOnHand(c.env, callerOf(c), variant_id, c.req.valid('json'), key);
    return c.json(change.inventory, 200, replayedHeaders(change));
  })
  .openapi(routes.listReservations, async (c) =>
    c.json(await read.listReservations(c.env, c.req.valid('param').variant_id, c.req.valid('query')), 200),
  );
