import { z } from '@hono/zod-openapi';
import { problems, publicRoute } from '../../lib/openapi';

export const connect = publicRoute({
  method: 'get',
  path: '/live',
  tags: ['Live'],
  summary: 'Open a live channel (WebSocket)',
  description:
    'Send `Upgrade: websocket`. Messages are JSON objects with a `type`: send `{"type":"ping"}` and receive ' +
    '`{"type":"pong"}`. A message that is not JSON, has an unknown type, or exceeds 4 KB is answered with ' +
    '`{"type":"error","code":"invalid_message"}` and the socket stays open.',
  request: {
    headers: z.object({
      upgrade: z.string().optional().openapi({ description: 'Must be `websocket`', example: 'websocket' }),
    }),
  },
  responses: {
    101: { description: 'Switching Protocols: the connection is now a WebSocket' },
    ...problems(426),
  },
});
