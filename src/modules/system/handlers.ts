import { KV_KEYS } from '../../lib/kv-keys';
import { createRouter } from '../../lib/openapi';
import * as routes from './routes';

const probe = async (check: () => Promise<unknown>) =>
  check().then(
    () => 'ok' as const,
    () => 'failed' as const,
  );

export const systemRouter = createRouter()
  .openapi(routes.health, (c) => c.json({ status: 'ok' as const }, 200))
  .openapi(routes.ready, async (c) => {
    const [d1, kv] = await Promise.all([
      probe(() => c.env.DB.prepare('SELECT 1').first()),
      probe(() => c.env.KV.get(KV_KEYS.catalogVersion)),
    ]);
    const ok = d1 === 'ok' && kv === 'ok';
    if (!ok) c.get('logger').warn('not ready', { d1, kv });
    return c.json(
      { status: ok ? ('ready' as const) : ('degraded' as const), checks: { d1, kv } },
      ok ? 200 : 503,
    );
  });
