/**
 * The authority a request acts with, re-checked by the database in the batch of a write that grants something
 * (a key, an invitation, a role): a request's checks read the caller as it was, and disabling or demoting the
 * member, or revoking the key, may commit before the request's batch. Revoking what an authority made
 * (service.ts) only sees what exists when it commits, so a grant written after that must not be written at all.
 */
import { and, eq, exists, isNull, type SQL, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/sqlite-core';
import { invalidApiKey } from '../../auth/secret-key';
import { apiKeys, staffUsers } from '../../db/schema';
import type { Database } from '../../lib/db';
import type { AppError } from '../../lib/errors';
import { invalidToken } from '../../lib/jwt';
import type { AdminPrincipal } from '../../lib/permissions';

/**
 * Whether `principal`'s authority still holds when the statement runs: a staff member still active in the role
 * their request was checked with (disabling or demoting them ended their sessions), a key still not revoked
 * (revoking it, or disabling the member it descends from, revokes it). Aliased tables, so it reads the same
 * inside a statement that writes `staff_users` or `api_keys`.
 */
export function authorityHeld(db: Database, principal: AdminPrincipal): SQL {
  if (principal.type === 'staff') {
    const actor = alias(staffUsers, 'authority_staff');
    return exists(
      db
        .select({ one: sql`1` })
        .from(actor)
        .where(and(eq(actor.id, principal.id), eq(actor.status, 'active'), eq(actor.role, principal.role))),
    );
  }
  const key = alias(apiKeys, 'authority_key');
  return exists(
    db
      .select({ one: sql`1` })
      .from(key)
      .where(and(eq(key.id, principal.id), isNull(key.revokedAt))),
  );
}

/** The 401 `principal`'s next request would get once its authority ended: as if it were not authenticated. */
export function authorityEnded(principal: AdminPrincipal): AppError {
  return principal.type === 'staff' ? invalidToken('session ended') : invalidApiKey();
}

/**
 * The recheck of a write guarded by authorityHeld (`onlyIf` in a NOT NULL column, so the whole batch rolls
 * back): throws authorityEnded when that is why it failed.
 */
export async function refuseEndedAuthority(db: Database, principal: AdminPrincipal): Promise<void> {
  const row = await db.get<{ held: number }>(sql`SELECT ${authorityHeld(db, principal)} AS held`);
  if (!row?.held) throw authorityEnded(principal);
}
