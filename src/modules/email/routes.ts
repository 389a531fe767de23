import { z } from '@hono/zod-openapi';
import { jsonContent, problems, publicRoute } from '../../lib/openapi';
import { DevMailMessageSchema } from './schemas';

export const listMailbox = publicRoute({
  method: 'get',
  path: '/v1/dev/mailbox',
  tags: ['Development'],
  summary: 'Mail "sent" by the dev mailbox provider (development and test only; 404 in production)',
  request: { query: z.object({ to: z.string().max(320).optional() }) },
  responses: {
    200: jsonContent(
      z.object({ data: z.array(DevMailMessageSchema) }).openapi('DevMailbox'),
      'Newest first, at most 50',
    ),
    ...problems(404),
  },
});
