import { createRoute, z } from '@hono/zod-openapi';
import { desc, eq } from 'drizzle-orm';
import { devMailbox } from '../../db/schema';
import { createDb } from '../../lib/db';
import { AppError } from '../../lib/errors';
import { createRouter, jsonContent, problems } from '../../lib/openapi';
import { devRoutesEnabled } from './dev-mailbox';

const MessageSchema = z
  .object({ id: z.string(), to: z.string(), subject: z.string(), text: z.string(), created_at: z.string() })
  .openapi('DevMailMessage');

const listMailbox = createRoute({
  method: 'get',
  path: '/v1/dev/mailbox',
  tags: ['Development'],
  summary: 'Mail "sent" by the dev mailbox provider (development and test only; 404 in production)',
  request: { query: z.object({ to: z.string().max(320).optional() }) },
  responses: {
    200: jsonContent(
      z.object({ data: z.array(MessageSchema) }).openapi('DevMailbox'),
      'Newest first, at most 50',
    ),
    ...problems(404),
  },
});

export const devMailboxRouter = createRouter().openapi(listMailbox, async (c) => {
  if (!devRoutesEnabled(c.env))
    throw new AppError(404, 'route_not_found', `There is no route ${c.req.path}.`);
  const { to } = c.req.valid('query');
  const rows = await createDb(c.env.DB)
    .select()
    .from(devMailbox)
    .where(to ? eq(devMailbox.to, to.toLowerCase()) : undefined)
    .orderBy(desc(devMailbox.createdAt), desc(devMailbox.id))
    .limit(50)
    .all();
  return c.json(
    {
      data: rows.map((m) => ({
        id: m.id,
        to: m.to,
        subject: m.subject,
        text: m.text,
        created_at: m.createdAt.toISOString(),
      })),
    },
    200,
  );
});
