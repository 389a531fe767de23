/**
 * GET /v1/live hands a WebSocket upgrade to a LiveChannel Durable Object, whose 101 response passes the global
 * middleware untouched (src/lib/response-headers.ts). One channel for now: the "lobby".
 */
import { AppError } from '../../lib/errors';
import { createRouter } from '../../lib/openapi';
import { isWebSocketUpgrade } from '../../lib/response-headers';
import * as routes from './routes';

export const liveRouter = createRouter().openapi(routes.connect, (c) => {
  if (!isWebSocketUpgrade(c)) {
    throw new AppError(426, 'upgrade_required', 'This endpoint only accepts a WebSocket upgrade.', {
      headers: { Upgrade: 'websocket' },
    });
  }
  const channels = c.env.LIVE_CHANNEL;
  return channels.get(channels.idFromName('lobby')).fetch(c.req.raw);
});
