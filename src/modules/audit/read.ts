/**
 * Reading the audit log: who changed what, when, and a before/after summary. Entries are written only by
 * `commit()` (src/lib/commit.ts), in the same D1 batch as the change they record, so an entry exists if and only
 * if its change does.
 */
import { and, desc, eq } from 'drizzle-orm';
import { auditLog } from '../../db/schema';
import type { Actor } from '../../lib/caller';
import { createDb } from '../../lib/db';
import { olderThan } from '../../lib/keyset';

export type AuditFilters = {
  actorType?: Exclude<Actor['type'], 'anonymous'> | undefined;
  actorId?: string | undefined;
  action?: string | undefined;
  targetType?: string | undefined;
  targetId?: string | undefined;
};

export const AUDIT_SORT = 'created_at_desc';

/** Newest first; keyset pagination on (created_at, id). */
export async function listAuditLog(
  d1: D1Database,
  filters: AuditFilters,
  page: { limit: number; after: [number, string] | null },
) {
  const conditions = [
    filters.actorType ? eq(auditLog.actorType, filters.actorType) : undefined,
    filters.actorId ? eq(auditLog.actorId, filters.actorId) : undefined,
    filters.action ? eq(auditLog.action, filters.action) : undefined,
    filters.targetType ? eq(auditLog.targetType, filters.targetType) : undefined,
    filters.targetId ? eq(auditLog.targetId, filters.targetId) : undefined,
    olderThan(auditLog.createdAt, auditLog.id, page.after),
  ];
  return createDb(d1)
    .select()
    .from(auditLog)
    .where(and(...conditions))
    .orderBy(desc(auditLog.createdAt), desc(auditLog.id))
    .limit(page.limit + 1);
}
