/**
 * Staff members: listing and changes by those holding staff:manage, within the rules of rules.ts. Disabling a
 * member or changing their role signs them out everywhere, so the next token they get reflects the change (and a
 * promotion to owner or admin meets the MFA requirement at the next login), and revokes the secret keys and pending
 * invitations their authority made that they could no longer make (all of them once disabled), in the same batch.
 */
import { eq } from 'drizzle-orm';
import { type StaffRole, staffRecoveryCodes, staffUsers } from '../../db/schema';
import type { AdminCaller } from '../../lib/caller';
import { commit } from '../../lib/commit';
import { createDb } from '../../lib/db';
import { changesOf } from '../../lib/row-changes';
import { revokeGrantsOutliving } from '../api-keys/service';
import { revokeAllSessionsStatement } from '../sessions/service';
import { getStaff } from './read';
import { assertMayManage } from './rules';

type StaffRow = typeof staffUsers.$inferSelect;

export async function updateStaff(
  env: Env,
  caller: AdminCaller,
  id: string,
  input: { name?: string | undefined; role?: StaffRole | undefined; status?: StaffRow['status'] | undefined },
): Promise<StaffRow> {
  const before = await getStaff(env.DB, id);
  const change = {
    name: input.name !== before.name ? input.name : undefined,
    role: input.role !== before.role ? input.role : undefined,
    status: input.status !== before.status ? input.status : undefined,
  };
  assertMayManage(caller.principal, before, change);
  const changes = changesOf(before, change);
  if (Object.keys(changes).length === 0) return before;

  const db = createDb(env.DB);
  // A new role or a disabled account must not outlive the tokens already issued, nor the keys and pending
  // invitations the member's authority made: sign out and revoke in the same batch.
  const signOut = change.role !== undefined || change.status === 'disabled';
  const disabled = (change.status ?? before.status) === 'disabled';
  const grants = signOut
    ? await revokeGrantsOutliving(
        db,
        id,
        disabled ? null : (change.role ?? before.role),
        disabled ? 'creator_disabled' : 'creator_role_changed',
      )
    : { statements: [], audit: [] };
  const [updated] = await commit(db, caller, {
    statements: [
      db
        .update(staffUsers)
        .set({ ...change, updatedAt: new Date() })
        .where(eq(staffUsers.id, id))
        .returning(),
      ...(signOut ? [revokeAllSessionsStatement(db, 'staff', id, 'revoked')] : []),
      ...grants.statements,
    ],
    audit: [{ action: 'staff.update', targetType: 'staff', targetId: id, changes }, ...grants.audit],
  });
  return updated[0] ?? before;
}

/**
 * Clears a member's MFA (lost device and recovery codes) and signs them out: their next login asks an owner or
 * admin to enroll again, and lets other roles in with the password alone until they re-enroll.
 */
export async function resetStaffMfa(env: Env, caller: AdminCaller, id: string): Promise<StaffRow> {
  const before = await getStaff(env.DB, id);
  assertMayManage(caller.principal, before, { resetMfa: true });
  const db = createDb(env.DB);
  const [updated] = await commit(db, caller, {
    statements: [
      db
        .update(staffUsers)
        .set({ mfaSecretEncrypted: null, mfaEnabledAt: null, mfaLastStep: null, updatedAt: new Date() })
        .where(eq(staffUsers.id, id))
        .returning(),
      db.delete(staffRecoveryCodes).where(eq(staffRecoveryCodes.staffId, id)),
      revokeAllSessionsStatement(db, 'staff', id, 'revoked'),
    ],
    audit: {
      action: 'staff.mfa_reset',
      targetType: 'staff',
      targetId: id,
      changes: { mfa_enabled: { from: before.mfaEnabledAt !== null, to: false } },
    },
  });
  return updated[0] ?? before;
}
