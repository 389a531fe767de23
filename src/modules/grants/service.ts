/**
 * A grant must not outlive the authority that made it: the secret keys and pending staff invitations a member or
 * a key made are revoked with the change that ends or narrows that authority (a member disabled or given another
 * role, a key revoked), in the same batch. The staff and API-key services both end authority, so this sits
 * below them.
 *
 * Which grants outlive the change is decided by the database as the batch runs, not listed before it: a grant
 * may be made until the change commits (authority.ts refuses one only after), so a list read first could miss
 * it, and a holder of a leaked key minting keys in a loop could make every such list stale. Each grant's audit
 * entry is written by the same statement's SELECT, so a grant made a moment before the batch is revoked and
 * audited like the others.
 */
import { and, type SQL, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { apiKeys, auditLog, STAFF_ROLES, type StaffRole, staffInvites } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { inIdList } from '../../lib/d1-writes';
import type { Database } from '../../lib/db';
import { newId } from '../../lib/ids';
import { PERMISSIONS, ROLE_PERMISSIONS } from '../../lib/permissions';
import { keyIdsDescendedFrom, pendingInvite } from './read';

/**
 * Whether a member of role `granter` may invite to `role`: inviting needs staff:manage, and granting what
 * assertMayGrantRole asks of a staff member. A pending invitation their authority made is revoked once their
 * role no longer could (revokeGrantsOutliving).
 */
function roleMayInvite(granter: StaffRole, role: StaffRole): boolean {
  const holds = new Set(ROLE_PERMISSIONS[granter]);
  return (
    (role !== 'owner' || granter === 'owner') &&
    holds.has('staff:manage') &&
    ROLE_PERMISSIONS[role].every((p) => holds.has(p))
  );
}

/** Why a grant (a key, an invitation) was revoked along with a change to the member or key that made it. */
export type CreatorChange = 'creator_disabled' | 'creator_role_changed' | 'creator_revoked';

/** The audit field naming the creator: a member is disabled or changes role, a key is revoked. */
const CREATOR_FIELD: Record<CreatorChange, string> = {
  creator_disabled: 'staff_id',
  creator_role_changed: 'staff_id',
  creator_revoked: 'api_key_id',
};

/**
 * Active secret keys down `creatorId`'s chain (grants/read.ts keyIdsDescendedFrom) holding a permission `kept`
 * lacks (names no longer in PERMISSIONS grant nothing, so they make no key outlive anyone): as a condition on
 * `api_keys` rows.
 */
function keysOutliving(creatorId: string, kept: StaffRole | null): SQL {
  const keep = new Set<string>(kept ? ROLE_PERMISSIONS[kept] : []);
  return sql`${apiKeys.id} IN (${keyIdsDescendedFrom(creatorId)}) AND ${apiKeys.kind} = 'secret'
    AND ${apiKeys.revokedAt} IS NULL
    AND EXISTS (
      SELECT 1 FROM json_each(${apiKeys.permissions}) p
      WHERE p.value IN (${valueList(PERMISSIONS.filter((p) => !keep.has(p)))})
    )`;
}

/**
 * Pending invitations made by `creatorId` or a key down its chain, to a role `kept` could not invite to (null:
 * any role), through `staff_invites_invited_by_idx`: as a condition on `staff_invites` rows.
 */
export function invitesOutliving(creatorId: string, kept: StaffRole | null, now: Date): SQL {
  const invitable = kept ? STAFF_ROLES.filter((role) => roleMayInvite(kept, role)) : [];
  return sql`(${staffInvites.invitedBy} = ${creatorId} OR ${staffInvites.invitedBy} IN (${keyIdsDescendedFrom(creatorId)}))
    AND ${pendingInvite(now)} AND ${staffInvites.role} NOT IN (${valueList(invitable)})`;
}

/**
 * A short constant list as bound values (a few dozen at most: permissions, roles), which SQLite compares without
 * reading a row, where json_each would read one per value for every row it is checked against.
 */
const valueList = (values: readonly string[]): SQL =>
  sql.join(
    values.map((value) => sql`${value}`),
    sql`, `,
  );

/**
 * The audit entries of the rows of `table` matching `condition`, one per row, written by one INSERT ... SELECT
 * before the UPDATE that revokes them. Each id is a fresh ULID's time and first random characters followed by
 * the last twelve (random) characters of the row's own ULID, so the entries sort by time and stay unique.
 */
function auditRevoked(
  db: Database,
  caller: Caller,
  target: { table: typeof apiKeys | typeof staffInvites; type: 'api_key' | 'staff_invite' },
  condition: SQL,
  changes: SQL,
): BatchItem<'sqlite'> {
  const stamp = newId('aud').slice(0, -12);
  return db.insert(auditLog).select(
    sql`SELECT ${stamp} || substr(${target.table.id}, -12), ${caller.actor.type}, ${caller.actor.id},
      ${`${target.type}.revoke`}, ${target.type}, ${target.table.id}, ${changes}, ${caller.meta.requestId},
      (unixepoch('subsec') * 1000)
    FROM ${target.table} WHERE ${condition}`,
  );
}

/**
 * What `creatorId`'s change revokes, for the change's batch (both commit or neither does): when a staff member is
 * disabled or a key revoked (`kept` is null) or a member's role changes (`kept` is the new role), the grants its
 * authority made that `kept` could not make again, each with its `api_key.revoke` or `staff_invite.revoke` audit
 * entry by `caller` naming the change's `reason` and the creator. No reads: decided as the batch runs.
 */
export function revokeGrantsOutliving(
  db: Database,
  caller: Caller,
  creatorId: string,
  kept: StaffRole | null,
  reason: CreatorChange,
): BatchItem<'sqlite'>[] {
  const now = new Date();
  const keys = keysOutliving(creatorId, kept);
  const invites = invitesOutliving(creatorId, kept, now);
  const creator = sql`${reason}, ${CREATOR_FIELD[reason]}, ${creatorId}`;
  return [
    auditRevoked(
      db,
      caller,
      { table: apiKeys, type: 'api_key' },
      keys,
      sql`json_object('revoked_at', json_object('from', NULL, 'to', ${now.toISOString()}), 'reason', ${creator})`,
    ),
    db.update(apiKeys).set({ revokedAt: now }).where(keys),
    auditRevoked(
      db,
      caller,
      { table: staffInvites, type: 'staff_invite' },
      invites,
      sql`json_object('email', ${staffInvites.email}, 'role', ${staffInvites.role}, 'reason', ${creator})`,
    ),
    db.update(staffInvites).set({ revokedAt: now }).where(invites),
  ];
}

/** Revokes those of `ids` still pending at `now`: one accepted or revoked since it was read stays as it is. */
export function revokePendingInvites(db: Database, ids: string[], now: Date) {
  return db
    .update(staffInvites)
    .set({ revokedAt: now })
    .where(and(inIdList(staffInvites.id, ids), pendingInvite(now)));
}
