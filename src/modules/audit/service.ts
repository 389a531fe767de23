/**
 * The audit log: who changed what, when, and a before/after summary. Every staff and secret-key write records
 * one entry. Services on the write path state it in their `Change` (src/lib/commit.ts; catalog writes diff their
 * row with src/lib/row-changes.ts); handlers that still write with `db.batch()` put `auditEntry()` in the same
 * batch, so the entry exists if and only if the change does.
 *
 * @example
 * await db.batch([db.update(products).set(patch).where(eq(products.id, id)), auditEntry(db, c, {
 *   action: 'product.update', targetType: 'product', targetId: id, changes: changesOf(before, after),
 * })]);
 */
import { and, desc, eq } from 'drizzle-orm';
import type { Context } from 'hono';
import { auditLog } from '../../db/schema';
import type { AppEnv } from '../../env';
import { createDb, type Database } from '../../lib/db';
import { newId } from '../../lib/ids';
import { olderThan } from '../../lib/keyset';

export type AuditActor = { type: 'staff' | 'secret_key' | 'customer' | 'system'; id: string };

export type AuditInput = {
  /** Dotted `<target>.<verb>`, e.g. `api_key.create`, `staff.update`. */
  action: string;
  targetType: string;
  targetId: string | null;
  /** A summary of what changed, never secrets (hashes, tokens, passwords). */
  changes?: Record<string, unknown>;
  /** Defaults to the authenticated admin principal; set it where nobody is signed in (accepting an invite). */
  actor?: AuditActor;
};

function actorOf(c: Context<AppEnv>): AuditActor {
  const principal: AppEnv['Variables']['principal'] | undefined = c.get('principal');
  if (principal?.type === 'staff' || principal?.type === 'secret_key') {
    return { type: principal.type, id: principal.id };
  }
  // Only admin principals write what is audited; anything else reaching here is a wiring bug.
  throw new Error('auditEntry needs an admin principal or an explicit actor');
}

/** The insert for one audit entry, to run inside the same `db.batch()` as the change it records. */
export function auditEntry(db: Database, c: Context<AppEnv>, input: AuditInput) {
  const actor = input.actor ?? actorOf(c);
  return db.insert(auditLog).values({
    id: newId('aud'),
    actorType: actor.type,
    actorId: actor.id,
    action: input.action,
    targetType: input.targetType,
    targetId: input.targetId,
    changes: input.changes ?? null,
    requestId: c.get('requestId'),
  });
}

// Staff and API-key services import the field diff from here; it lives with the row diff in src/lib.
export { changesOf } from '../../lib/row-changes';

export type AuditFilters = {
  actorType?: AuditActor['type'] | undefined;
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
