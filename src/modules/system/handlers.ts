import { API_NAME, API_VERSION } from '../../lib/api-version';
import { KV_KEYS } from '../../lib/kv-keys';
import { createRouter } from '../../lib/openapi';
import * as routes from './routes';

const probe = async (check: () => Promise<unknown>) =>
  check().then(
    () => 'ok' as const,
    () => 'failed' as const,
  );

const INDEX = {
  name: API_NAME,
  version: API_VERSION,
  links: {
    docs: '/docs',
    openapi: '/openapi.json',
    health: '/health',
    ready: '/ready',
    store: {
      regions: '/v1/store/regions',
      products: '/v1/store/products',
      categories: '/v1/store/categories',
      collections: '/v1/store/collections',
    },
  },
};

export const systemRouter = createRouter()
  .openapi(routes.index, (c) => c.json(INDEX, 200))
  .openapi(routes.health, (c) => c.json({ status: 'ok' as const }, 200))
  .openapi(routes.ready, async (c) => {
    const [d1, kv] = await Promise.all([
      probe(() => c.env.DB.prepare('SELECT 1').first()),
      probe(() => c.env.KV.get(KV_KEYS.readinessProbe)),
    ]);
    const ok = d1 === 'ok' && kv === 'ok';
    if (!ok) c.get('logger').warn('not ready', { d1, kv });
    return c.json(
      { status: ok ? ('ready' as const) : ('degraded' as const), checks: { d1, kv } },
      ok ? 200 : 503,
    );
  });
