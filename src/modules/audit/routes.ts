import { adminRoute } from '../../auth/permissions';
import { jsonContent, problems } from '../../lib/openapi';
import { AuditLogPageSchema, AuditLogQuery } from './schemas';

export const listAuditLog = adminRoute('audit:read', {
  method: 'get',
  path: '/audit-log',
  tags: ['Admin: audit log'],
  summary: 'List audit entries, newest first',
  description: 'Every staff and secret-key write, with its actor, target and a before/after summary.',
  request: { query: AuditLogQuery },
  responses: {
    200: jsonContent(AuditLogPageSchema, 'A page of audit entries'),
    ...problems(401, 403, 422),
  },
});
