import { callerOf } from '../../auth/caller';
import type { AdminEnv } from '../../lib/app-env';
import { createRouter, respondCreated, sentFields } from '../../lib/openapi';
import * as routes from './routes';
import * as service from './service';

export const adminIdentityProvidersRouter = createRouter<AdminEnv>()
  .openapi(routes.createProvider, async (c) =>
    respondCreated(
      c,
      '/v1/admin/identity-providers',
      await service.createProvider(c.env, callerOf(c), c.req.valid('json'), await sentFields(c)),
    ),
  )
  .openapi(routes.listProviders, async (c) => c.json(await service.listProviders(c.env), 200))
  .openapi(routes.updateProvider, async (c) => {
    const { id } = c.req.valid('param');
    const provider = await service.updateProvider(
      c.env,
      callerOf(c),
      id,
      c.req.valid('json'),
      await sentFields(c),
    );
    return c.json(provider, 200);
  })
  .openapi(routes.deleteProvider, async (c) => {
    await service.deleteProvider(c.env, callerOf(c), c.req.valid('param').id);
    return c.body(null, 204);
  });
