import { z } from '@hono/zod-openapi';
import type { auditLog } from '../../db/schema';
import { PageInfoSchema, PaginationQuery } from '../../lib/pagination';

const Id = z.string().min(1).max(64);

export const AuditLogQuery = z.object({
  actor_type: z.enum(['staff', 'secret_key', 'customer', 'system']).optional(),
  actor_id: Id.optional().openapi({ example: 'stf_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
  action: z
    .string()
    .regex(/^[a-z_]+\.[a-z_]+$/)
    .optional()
    .openapi({ example: 'api_key.create' }),
  target_type: z
    .string()
    .regex(/^[a-z_]+$/)
    .optional()
    .openapi({ example: 'api_key' }),
  target_id: Id.optional(),
  ...PaginationQuery,
});

export const AuditEntrySchema = z
  .object({
    id: z.string().openapi({ example: 'aud_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    actor_type: z.enum(['staff', 'secret_key', 'customer', 'system']),
    actor_id: z.string(),
    action: z.string().openapi({ example: 'staff.update' }),
    target_type: z.string().openapi({ example: 'staff' }),
    target_id: z.string().nullable(),
    changes: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ example: { role: { from: 'support', to: 'order_manager' } } }),
    request_id: z.string().nullable(),
    created_at: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('AuditEntry');

export const AuditLogPageSchema = z
  .object({ data: z.array(AuditEntrySchema), page: PageInfoSchema })
  .openapi('AuditLogPage');

export function serializeAuditEntry(row: typeof auditLog.$inferSelect): z.infer<typeof AuditEntrySchema> {
  return {
    id: row.id,
    actor_type: row.actorType,
    actor_id: row.actorId,
    action: row.action,
    target_type: row.targetType,
    target_id: row.targetId,
    changes: row.changes,
    request_id: row.requestId,
    created_at: row.createdAt.toISOString(),
  };
}
