import { z } from '@hono/zod-openapi';
import type { devMailbox } from '../../db/schema';

export const DevMailMessageSchema = z
  .object({ id: z.string(), to: z.string(), subject: z.string(), text: z.string(), created_at: z.string() })
  .openapi('DevMailMessage');

export function serializeDevMailMessage(
  row: typeof devMailbox.$inferSelect,
): z.infer<typeof DevMailMessageSchema> {
  return {
    id: row.id,
    to: row.to,
    subject: row.subject,
    text: row.text,
    created_at: row.createdAt.toISOString(),
  };
}
