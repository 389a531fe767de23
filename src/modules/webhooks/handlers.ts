import { callerOf } from '../../auth/caller';
import type { AdminEnv } from '../../lib/app-env';
import { createDb } from '../../lib/db';
import { createRouter, respondCreated } from '../../lib/openapi';
import { noStore } from '../../middleware/no-store';
import * as deliveries from './delivery-service';
import * as read from './read';
import * as routes from './routes';
import * as service from './service';

// Creating an endpoint and rotating its secret answer with the secret; nothing under /webhooks may be cached.
const router = createRouter<AdminEnv>();
router.use('/webhooks', noStore());
router.use('/webhooks/*', noStore());

export const adminWebhooksRouter = router
  .openapi(routes.createEndpoint, async (c) => {
    const { endpoint, secret } = await service.createEndpoint(c.env, callerOf(c), c.req.valid('json'));
    return respondCreated(c, '/v1/admin/webhooks', { ...endpoint, secret });
  })
  .openapi(routes.listEndpoints, async (c) =>
    c.json(await read.listEndpoints(createDb(c.env.DB), c.req.valid('query')), 200),
  )
  .openapi(routes.getEndpoint, async (c) =>
    c.json(await read.getEndpoint(createDb(c.env.DB), c.req.valid('param').id), 200),
  )
  .openapi(routes.updateEndpoint, async (c) => {
    const { id } = c.req.valid('param');
    return c.json(await service.updateEndpoint(c.env, callerOf(c), id, c.req.valid('json')), 200);
  })
  .openapi(routes.deleteEndpoint, async (c) => {
    await service.deleteEndpoint(c.env, callerOf(c), c.req.valid('param').id);
    return c.body(null, 204);
  })
  .openapi(routes.rotateSecret, async (c) => {
    const { endpoint, secret } = await service.rotateSecret(c.env, callerOf(c), c.req.valid('param').id);
    return c.json({ ...endpoint, secret }, 200);
  })
  .openapi(routes.listDeliveries, async (c) => {
    const { id } = c.req.valid('param');
    return c.json(await read.listDeliveries(createDb(c.env.DB), id, c.req.valid('query')), 200);
  })
  .openapi(routes.redeliver, async (c) => {
    const { id, delivery_id } = c.req.valid('param');
    return c.json(await deliveries.redeliver(c.env, callerOf(c), id, delivery_id), 202);
  })
  .openapi(routes.replay, async (c) => {
    const { from, to } = c.req.valid('json');
    const range = { from: new Date(from), to: new Date(to) };
    return c.json(await deliveries.replayRange(c.env, callerOf(c), c.req.valid('param').id, range), 202);
  })
  .openapi(routes.testEndpoint, async (c) =>
    c.json(await deliveries.sendTestPing(c.env, callerOf(c), c.req.valid('param').id), 202),
  );
