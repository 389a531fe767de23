/**
 * Reading the audit log: who changed what, when, and a before/after summary. Entries are written only by
 * `commit()` (src/lib/commit.ts), in the same D1 batch as the change they record, so an entry exists if and only
 * if its change does.
 */
import { and, desc, eq, type SQL, sql } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
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

/**
 * `column = value` as a type filter (actor type, target type): a handful of values, each naming a large share of
 * the log. Beside a filter that names few entries (an action, an actor, a target), it is checked on the rows that
 * filter's index finds, never searched itself (`+column` keeps SQLite off its index): without statistics SQLite
 * picks either index, and through the type's it walks every entry of the type until a page of the other matches.
 */
function byType(column: SQLiteColumn, value: string | undefined, narrower: boolean): SQL | undefined {
  if (!value) return undefined;
  return narrower ? sql`+${column} = ${value}` : eq(column, value);
}

/** Newest first; keyset pagination on (created_at, id). */
export async function listAuditLog(
  d1: D1Database,
  filters: AuditFilters,
  page: { limit: number; after: [number, string] | null },
) {
  const narrower = Boolean(filters.action || filters.actorId || filters.targetId);
  const conditions = [
    byType(auditLog.actorType, filters.actorType, narrower),
    filters.actorId ? eq(auditLog.actorId, filters.actorId) : undefined,
    filters.action ? eq(auditLog.action, filters.action) : undefined,
    byType(auditLog.targetType, filters.targetType, narrower),
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
