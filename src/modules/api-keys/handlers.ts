import { adminCallerOf } from '../../auth/caller';
import type { AdminEnv } from '../../lib/app-env';
import { TIME_ID_KEY } from '../../lib/keyset';
import { createRouter } from '../../lib/openapi';
import { decodeCursor, paginate } from '../../lib/pagination';
import { noStore } from '../../middleware/no-store';
import * as read from './read';
import * as routes from './routes';
import { serializeApiKey } from './schemas';
import * as service from './service';

// A created secret key is in its response once; nothing under /api-keys may be stored by any cache.
const router = createRouter<AdminEnv>();
router.use('/api-keys', noStore());
router.use('/api-keys/*', noStore());

export const apiKeysRouter = router
  .openapi(routes.createApiKey, async (c) => {
    const body = c.req.valid('json');
    if (body.kind === 'secret') {
      const { row, secretKey } = await service.createSecretKey(c.env, adminCallerOf(c), body);
      return c.json({ ...serializeApiKey(row), secret_key: secretKey }, 201);
    }
    const row = await service.createPublishableKey(c.env, adminCallerOf(c), {
      name: body.name,
      defaultRegion: body.default_region,
    });
    return c.json({ ...serializeApiKey(row), secret_key: null }, 201);
  })
  .openapi(routes.listApiKeys, async (c) => {
    const q = c.req.valid('query');
    const after = q.cursor ? decodeCursor(q.cursor, read.API_KEY_SORT, TIME_ID_KEY) : null;
    const rows = await read.listApiKeys(
      c.env.DB,
      { kind: q.kind, includeRevoked: q.include_revoked },
      { limit: q.limit, after },
    );
    const { data, page } = paginate(rows, q.limit, read.API_KEY_SORT, (r) => [r.createdAt.getTime(), r.id]);
    return c.json({ data: data.map(serializeApiKey), page }, 200);
  })
  .openapi(routes.revokeApiKey, async (c) => {
    const row = await service.revokeApiKey(c.env, adminCallerOf(c), c.req.valid('param').id);
    return c.json(serializeApiKey(row), 200);
  });
