import { AppError } from '../../lib/errors';
import { createRouter } from '../../lib/openapi';
import { devRoutesEnabled } from './dev-mailbox';
import { listDevMail } from './read';
import * as routes from './routes';
import { serializeDevMailMessage } from './schemas';

export const devMailboxRouter = createRouter().openapi(routes.listMailbox, async (c) => {
  if (!devRoutesEnabled(c.env))
    throw new AppError(404, 'route_not_found', `There is no route ${c.req.path}.`);
  const rows = await listDevMail(c.env.DB, c.req.valid('query').to);
  return c.json({ data: rows.map(serializeDevMailMessage) }, 200);
});
