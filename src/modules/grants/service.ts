/**
 * A grant must not outlive the authority that made it: the secret keys and pending staff invitations a member or
 * a key made are revoked with the change that ends or narrows that authority (a member disabled or given another
 * role, a key revoked), in the same batch. The staff and API-key services both end authority, so this sits
 * below them.
 *
 * What to revoke is listed before the batch, and a grant may still be made after that (authority.ts lets one be
 * written until the change commits). So the batch ends by checking that nothing the authority made outlives the
 * change; if something does, it rolls back and the change lists again (revokingGrants).
 */
import { and, eq, isNull, type SQL, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { apiKeys, STAFF_ROLES, type StaffRole, staffInvites, staffUsers } from '../../db/schema';
import type { AuditRecord } from '../../lib/commit';
import { inIdList, onlyIf } from '../../lib/d1-writes';
import type { Database } from '../../lib/db';
import { conflict } from '../../lib/errors';
import { isPermission, PERMISSIONS, type Permission, ROLE_PERMISSIONS } from '../../lib/permissions';
import { activeKeysDescendedFrom, keyIdsDescendedFrom, pendingInvite, pendingInvitesMadeBy } from './read';

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

export type Revocations = { statements: BatchItem<'sqlite'>[]; audit: AuditRecord[] };

/** Lists of grants to revoke that went stale before their batch, in a row, before the change gives up (409). */
const LISTING_ATTEMPTS = 3;

/**
 * Runs `write`, a change to `creatorId`'s authority, with the revocations of what that authority made
 * (revokeGrantsOutliving) in its batch. If the batch fails and the grants to revoke are no longer those listed
 * (one was made meanwhile), it lists again and retries; the change answers 409 `grants_changed` when that keeps
 * happening, and otherwise with whatever the batch's failure was.
 */
export async function revokingGrants<T>(
  db: Database,
  creatorId: string,
  kept: StaffRole | null,
  reason: CreatorChange,
  write: (grants: Revocations) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const grants = await revokeGrantsOutliving(db, creatorId, kept, reason);
    try {
      return await write(grants);
    } catch (error) {
      const again = await revokeGrantsOutliving(db, creatorId, kept, reason);
      if (sameGrants(grants, again)) throw error;
      if (attempt === LISTING_ATTEMPTS) {
        throw conflict(
          'grants_changed',
          'Keys or invitations were created under this authority while the request ran; retry.',
        );
      }
    }
  }
}

const grantIds = (grants: Revocations) =>
  grants.audit
    .map((entry) => `${entry.targetType}:${entry.targetId}`)
    .sort()
    .join(' ');
const sameGrants = (a: Revocations, b: Revocations) => grantIds(a) === grantIds(b);

/**
 * Holds when nothing `creatorId`'s authority made outlives `kept` (null: anything): no active secret key down its
 * chain holds a known permission outside `kept`'s, no pending invitation by it or that chain is to a role `kept`
 * could not invite to. The lists are JSON, one bound parameter each whatever their length.
 */
function nothingOutlives(creatorId: string, kept: StaffRole | null, now: Date): SQL {
  const keptPermissions = JSON.stringify(kept ? ROLE_PERMISSIONS[kept] : []);
  const invitable = JSON.stringify(kept ? STAFF_ROLES.filter((role) => roleMayInvite(kept, role)) : []);
  const chain = keyIdsDescendedFrom(creatorId);
  return sql`NOT EXISTS (
      SELECT 1 FROM api_keys k
      WHERE k.id IN (${chain}) AND k.kind = 'secret' AND k.revoked_at IS NULL
        AND EXISTS (
          SELECT 1 FROM json_each(k.permissions) p
          WHERE p.value IN (SELECT value FROM json_each(${JSON.stringify(PERMISSIONS)}))
            AND p.value NOT IN (SELECT value FROM json_each(${keptPermissions}))
        )
    ) AND NOT EXISTS (
      SELECT 1 FROM staff_invites i
      WHERE (i.invited_by = ${creatorId} OR i.invited_by IN (${chain}))
        AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > ${now.getTime()}
        AND i.role NOT IN (SELECT value FROM json_each(${invitable}))
    )`;
}

/**
 * The batch's last revocation statement: it rewrites a NOT NULL column of the creator's row (a member's status,
 * a key's kind) with itself where nothingOutlives holds, else with NULL, which fails the batch.
 */
function checkNothingOutlives(
  db: Database,
  creatorId: string,
  kept: StaffRole | null,
  reason: CreatorChange,
) {
  const holds = nothingOutlives(creatorId, kept, new Date());
  return reason === 'creator_revoked'
    ? db
        .update(apiKeys)
        .set({ kind: onlyIf(holds, apiKeys.kind) })
        .where(eq(apiKeys.id, creatorId))
    : db
        .update(staffUsers)
        .set({ status: onlyIf(holds, staffUsers.status) })
        .where(eq(staffUsers.id, creatorId));
}

/**
 * A grant must not outlive the authority that made it. When a staff member is disabled or a key revoked (`kept`
 * is null) or a member's role changes (`kept` is the new role), what `creatorId`'s authority made and `kept`
 * could not make again is revoked: active secret keys descended from it holding a permission outside `kept`'s,
 * and pending invitations made by it or those keys to a role `kept` could not invite to (see roleMayInvite).
 * The returned statements and audit entries (one `api_key.revoke` or `staff_invite.revoke` per grant) go into
 * the batch of the creator's change, so both commit or neither does; the last statement fails the batch if a
 * grant was made since the listing (run the change through revokingGrants).
 */
async function revokeGrantsOutliving(
  db: Database,
  creatorId: string,
  kept: StaffRole | null,
  reason: CreatorChange,
): Promise<Revocations> {
  const because = { reason, [CREATOR_FIELD[reason]]: creatorId };
  const [keys, invites] = await Promise.all([
    revokeKeysOutliving(db, creatorId, kept ? ROLE_PERMISSIONS[kept] : [], because),
    revokeInvitesOutliving(db, creatorId, kept, because),
  ]);
  return {
    statements: [
      ...keys.statements,
      ...invites.statements,
      checkNothingOutlives(db, creatorId, kept, reason),
    ],
    audit: [...keys.audit, ...invites.audit],
  };
}

async function revokeKeysOutliving(
  db: Database,
  creatorId: string,
  kept: readonly Permission[],
  because: Record<string, string>,
): Promise<Revocations> {
  const keep = new Set<string>(kept);
  // Names no longer in PERMISSIONS grant nothing, so they do not make a key outlive anyone.
  const outliving = (await activeKeysDescendedFrom(db, creatorId)).filter((key) =>
    (key.permissions ?? []).filter(isPermission).some((p) => !keep.has(p)),
  );
  if (outliving.length === 0) return { statements: [], audit: [] };
  const now = new Date();
  const ids = outliving.map((key) => key.id);
  return {
    statements: [
      db
        .update(apiKeys)
        .set({ revokedAt: now })
        .where(and(inIdList(apiKeys.id, ids), isNull(apiKeys.revokedAt))),
    ],
    audit: ids.map((id) => ({
      action: 'api_key.revoke',
      targetType: 'api_key',
      targetId: id,
      changes: { revoked_at: { from: null, to: now.toISOString() }, ...because },
    })),
  };
}

/** Revokes those of `ids` still pending at `now`: one accepted or revoked since it was read stays as it is. */
export function revokePendingInvites(db: Database, ids: string[], now: Date) {
  return db
    .update(staffInvites)
    .set({ revokedAt: now })
    .where(and(inIdList(staffInvites.id, ids), pendingInvite(now)));
}

async function revokeInvitesOutliving(
  db: Database,
  creatorId: string,
  kept: StaffRole | null,
  because: Record<string, string>,
): Promise<Revocations> {
  const now = new Date();
  const outliving = (await pendingInvitesMadeBy(db, creatorId, now).all()).filter(
    (invite) => kept === null || !roleMayInvite(kept, invite.role),
  );
  if (outliving.length === 0) return { statements: [], audit: [] };
  return {
    statements: [
      revokePendingInvites(
        db,
        outliving.map((invite) => invite.id),
        now,
      ),
    ],
    audit: outliving.map((invite) => ({
      action: 'staff_invite.revoke',
      targetType: 'staff_invite',
      targetId: invite.id,
      changes: { email: invite.email, role: invite.role, ...because },
    })),
  };
}
