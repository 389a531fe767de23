/**
 * A grant must not outlive the authority that made it: the secret keys and pending staff invitations a member or
 * a key made are revoked with the change that ends or narrows that authority (a member disabled or given another
 * role, a key revoked), in the same batch. The staff and API-key services both end authority, so this sits
 * below them.
 */
import { and, inArray, isNull } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { apiKeys, type StaffRole, staffInvites } from '../../db/schema';
import type { AuditRecord } from '../../lib/commit';
import type { Database } from '../../lib/db';
import { isPermission, type Permission, ROLE_PERMISSIONS } from '../../lib/permissions';
import { activeKeysDescendedFrom, pendingInvite, pendingInvitesMadeBy } from './read';

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

type Revocations = { statements: BatchItem<'sqlite'>[]; audit: AuditRecord[] };

/**
 * A grant must not outlive the authority that made it. When a staff member is disabled or a key revoked (`kept`
 * is null) or a member's role changes (`kept` is the new role), what `creatorId`'s authority made and `kept`
 * could not make again is revoked: active secret keys descended from it holding a permission outside `kept`'s,
 * and pending invitations made by it or those keys to a role `kept` could not invite to (see roleMayInvite).
 * The returned statements and audit entries (one `api_key.revoke` or `staff_invite.revoke` per grant) go into
 * the batch of the creator's change, so both commit or neither does.
 */
export async function revokeGrantsOutliving(
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
    statements: [...keys.statements, ...invites.statements],
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
        .where(and(inArray(apiKeys.id, ids), isNull(apiKeys.revokedAt))),
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
    .where(and(inArray(staffInvites.id, ids), pendingInvite(now)));
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
