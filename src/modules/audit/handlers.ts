import type { AdminEnv } from '../../lib/app-env';
import { TIME_ID_KEY } from '../../lib/keyset';
import { createRouter } from '../../lib/openapi';
import { decodeCursor, paginate } from '../../lib/pagination';
import { AUDIT_SORT, listAuditLog } from './read';
import * as routes from './routes';
import { serializeAuditEntry } from './schemas';

export const auditRouter = createRouter<AdminEnv>().openapi(routes.listAuditLog, async (c) => {
  const q = c.req.valid('query');
  const after = q.cursor ? decodeCursor(q.cursor, AUDIT_SORT, TIME_ID_KEY) : null;
  const rows = await listAuditLog(
    c.env.DB,
    {
      actorType: q.actor_type,
      actorId: q.actor_id,
      action: q.action,
      targetType: q.target_type,
      targetId: q.target_id,
    },
    { limit: q.limit, after },
  );
  const { data, page } = paginate(rows, q.limit, AUDIT_SORT, (r) => [r.createdAt.getTime(), r.id]);
  return c.json({ data: data.map(serializeAuditEntry), page }, 200);
});
