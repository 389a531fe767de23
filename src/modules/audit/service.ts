/**
 * Reading the audit log: who changed what, when, and a before/after summary. Entries are written only by
 * `commit()` (src/lib/commit.ts), in the same D1 batch as the change they record, so an entry exists if and only
 * if its change does.
 */
import { and, desc, eq, lt, or } from 'drizzle-orm';
import { auditLog } from '../../db/schema';
import type { Actor } from '../../lib/caller';
import { createDb } from '../../lib/db';

/** `{ field: { from, to } }` for the fields of `after` whose value differs from `before`. */
export function changesOf<T extends Record<string, unknown>>(
  before: T,
  after: Partial<T>,
): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const [field, value] of Object.entries(after)) {
    if (value !== undefined && JSON.stringify(before[field]) !== JSON.stringify(value)) {
      changes[field] = { from: before[field] ?? null, to: value };
    }
  }
  return changes;
}

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
    page.after
      ? or(
          lt(auditLog.createdAt, new Date(page.after[0])),
          and(eq(auditLog.createdAt, new Date(page.after[0])), lt(auditLog.id, page.after[1])),
        )
      : undefined,
  ];
  return createDb(d1)
    .select()
    .from(auditLog)
    .where(and(...conditions))
    .orderBy(desc(auditLog.createdAt), desc(auditLog.id))
    .limit(page.limit + 1);
}
