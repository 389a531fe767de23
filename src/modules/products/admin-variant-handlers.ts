import { callerOf } from '../../auth/caller';
import type { AdminEnv } from '../../lib/app-env';
import { createRouter, respondCreated, sentFields } from '../../lib/openapi';
import * as routes from './admin-variant-routes';
import * as service from './admin-variant-service';

export const adminVariantsRouter = createRouter<AdminEnv>()
  .openapi(routes.createVariant, async (c) => {
    const { id } = c.req.valid('param');
    const variant = await service.createVariant(
      c.env,
      callerOf(c),
      id,
      c.req.valid('json'),
      await sentFields(c),
    );
    return respondCreated(c, '/v1/admin/variants', variant);
  })
  .openapi(routes.updateVariant, async (c) => {
    const { id } = c.req.valid('param');
    const variant = await service.updateVariant(
      c.env,
      callerOf(c),
      id,
      c.req.valid('json'),
      await sentFields(c),
    );
    return c.json(variant, 200);
  })
  .openapi(routes.deleteVariant, async (c) => {
    await service.deleteVariant(c.env, callerOf(c), c.req.valid('param').id);
    return c.body(null, 204);
  })
  .openapi(routes.replacePrices, async (c) => {
    const { id } = c.req.valid('param');
    const variant = await service.replacePrices(
      c.env,
      callerOf(c),
      id,
      c.req.valid('json').prices,
      await sentFields(c),
    );
    return c.json(variant, 200);
  });
