import { adminCallerOf } from '../../auth/caller';
import type { AdminEnv } from '../../lib/app-env';
import { createDb } from '../../lib/db';
import { createRouter } from '../../lib/openapi';
import * as read from './admin-read';
import * as routes from './admin-routes';
import { orderFiltersOf } from './admin-schemas';
import * as service from './admin-service';

export const adminOrdersRouter = createRouter<AdminEnv>()
  .openapi(routes.listOrders, async (c) => {
    const q = c.req.valid('query');
    return c.json(await read.listOrders(createDb(c.env.DB), orderFiltersOf(q), q), 200);
  })
  .openapi(routes.getOrder, async (c) =>
    c.json(await read.getAdminOrder(c.env, c.req.valid('param').id), 200),
  )
  .openapi(routes.fulfilOrder, async (c) => {
    const order = await service.fulfilOrder(
      c.env,
      adminCallerOf(c),
      c.req.valid('param').id,
      c.req.valid('json'),
      c.var.idempotency,
    );
    return c.json(order, 201);
  })
  .openapi(routes.markDelivered, async (c) =>
    c.json(
      await service.markDelivered(c.env, adminCallerOf(c), c.req.valid('param').id, c.var.idempotency),
      200,
    ),
  )
  .openapi(routes.cancelOrder, async (c) => {
    const order = await service.cancelOrder(
      c.env,
      adminCallerOf(c),
      c.req.valid('param').id,
      c.req.valid('json') ?? {},
      c.var.idempotency,
    );
    return c.json(order, 200);
  })
  .openapi(routes.refundOrder, async (c) => {
    const { id } = c.req.valid('param');
    const input = c.req.valid('json') ?? {};
    return c.json(await service.refundOrder(c.env, adminCallerOf(c), id, input, c.var.idempotency), 201);
  });
