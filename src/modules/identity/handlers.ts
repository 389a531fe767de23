import { publicJwks } from '../../lib/jwt';
import { createRouter } from '../../lib/openapi';
import * as routes from './routes';
import type { Jwks } from './schemas';

export const jwksRouter = createRouter().openapi(routes.jwks, async (c) => {
  c.header('Cache-Control', 'public, max-age=300');
  return c.json((await publicJwks(c.env)) as Jwks, 200);
});
