import { createRouter } from '../../lib/openapi';
import { routeNotFound } from '../../middleware/error-handler';
import { devRoutesEnabled } from './dev-mailbox';
import { listDevMail } from './read';
import * as routes from './routes';
import { serializeDevMailMessage } from './schemas';

const router = createRouter();
// Outside development and test, every method on a dev path answers exactly as an unknown path does: a 405 for a
// method the route lacks (what the 404 handler would say for a known path) would reveal that it exists.
router.use('/v1/dev/*', async (c, next) => {
  if (!devRoutesEnabled(c.env)) throw routeNotFound(c.req.path);
  await next();
});

export const devMailboxRouter = router.openapi(routes.listMailbox, async (c) => {
  const rows = await listDevMail(c.env.DB, c.req.valid('query').to);
  return c.json({ data: rows.map(serializeDevMailMessage) }, 200);
});
