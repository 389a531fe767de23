import type { AdminEnv } from '../../lib/app-env';
import { createRouter } from '../../lib/openapi';
import * as routes from './admin-variant-routes';
import * as service from './admin-variant-service';

export const adminVariantsRouter = createRouter<AdminEnv>()
  .openapi(routes.createVariant, async (c) => {
    const variant = await service.createVariant(c.env, c.req.valid('param').id, c.req.valid('json'));
    c.header('Location', `/v1/admin/variants/${variant.id}`);
    return c.json(variant, 201);
  })
  .openapi(routes.updateVariant, async (c) => {
    const variant = await service.updateVariant(c.env, c.req.valid('param').id, c.req.valid('json'));
    return c.json(variant, 200);
  })
  .openapi(routes.deleteVariant, async (c) => {
    await service.deleteVariant(c.env, c.req.valid('param').id);
    return c.body(null, 204);
  })
  .openapi(routes.replacePrices, async (c) => {
    const variant = await service.replacePrices(c.env, c.req.valid('param').id, c.req.valid('json').prices);
    return c.json(variant, 200);
  });
