/**
 * Staff members: listing and changes by those holding staff:manage, within the rules of rules.ts. Disabling a
 * member or changing their role signs them out everywhere, so the next token they get reflects the change (and a
 * promotion to owner or admin meets the MFA requirement at the next login), and revokes the secret keys and pending
 * invitations their authority made that they could no longer make (all of them once disabled), in the same batch.
 */
import { and, eq, exists, ne, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/sqlite-core';
import { type StaffRole, staffRecoveryCodes, staffUsers } from '../../db/schema';
import type { AdminCaller } from '../../lib/caller';
import { commit } from '../../lib/commit';
import { onlyIf } from '../../lib/d1-writes';
import { createDb, type Database } from '../../lib/db';
import { conflict } from '../../lib/errors';
import type { AdminPrincipal } from '../../lib/permissions';
import { changesOf } from '../../lib/row-changes';
import { authorityEnded, authorityHeld } from '../grants/authority';
import { revokeGrantsOutliving } from '../grants/service';
import { revokeAllSessionsStatement } from '../sessions/service';
import { getStaff } from './read';
import { assertMayManage } from './rules';

type StaffRow = typeof staffUsers.$inferSelect;
type StaffChange = {
  name?: string | undefined;
  role?: StaffRole | undefined;
  status?: StaffRow['status'] | undefined;
};

export async function updateStaff(
  env: Env,
  caller: AdminCaller,
  id: string,
  input: StaffChange,
): Promise<StaffRow> {
  const write = await checkStaffUpdate(env, caller, id, input);
  return write();
}

/**
 * The checks of updateStaff and the write they allow, apart so that a test can run the checks of two racing
 * requests before either writes: the write holds only if the database still agrees with the checks (see
 * stillAllowed).
 */
export async function checkStaffUpdate(
  env: Env,
  caller: AdminCaller,
  id: string,
  input: StaffChange,
): Promise<() => Promise<StaffRow>> {
  const before = await getStaff(env.DB, id);
  const change = {
    name: input.name !== before.name ? input.name : undefined,
    role: input.role !== before.role ? input.role : undefined,
    status: input.status !== before.status ? input.status : undefined,
  };
  assertMayManage(caller.principal, before, change);
  const changes = changesOf(before, change);
  if (Object.keys(changes).length === 0) return async () => before;
  return () => writeStaffUpdate(env, caller, before, change, changes);
}

async function writeStaffUpdate(
  env: Env,
  caller: AdminCaller,
  before: StaffRow,
  change: StaffChange,
  changes: Record<string, unknown>,
): Promise<StaffRow> {
  const db = createDb(env.DB);
  const { id } = before;
  // A new role or a disabled account must not outlive the tokens already issued, nor the keys and pending
  // invitations the member's authority made: sign out and revoke in the same batch.
  const signOut = change.role !== undefined || change.status === 'disabled';
  const disabled = (change.status ?? before.status) === 'disabled';
  const guard = stillAllowed(db, caller.principal, before, before.role === 'owner' && signOut);
  const grants = signOut
    ? revokeGrantsOutliving(
        db,
        caller,
        id,
        disabled ? null : (change.role ?? before.role),
        disabled ? 'creator_disabled' : 'creator_role_changed',
      )
    : [];
  const [updated] = await commit(db, caller, {
    statements: [
      db
        .update(staffUsers)
        .set({ ...change, status: statusIf(guard, change.status), updatedAt: new Date() })
        .where(eq(staffUsers.id, id))
        .returning(),
      ...(signOut ? [revokeAllSessionsStatement(db, 'staff', id, 'revoked')] : []),
      ...grants,
    ],
    audit: { action: 'staff.update', targetType: 'staff', targetId: id, changes },
    recheck: () => refusal(db, caller.principal, id, guard),
  });
  return updated[0] ?? before;
}

/**
 * What the checks of a change to `target` relied on, as conditions on the member's row for the database to
 * decide at commit, where a concurrent change is visible: the member still has the role that was checked; the
 * actor's authority still holds (grants/authority.ts: a staff actor active in the role their request was checked
 * with, a key not revoked); and a change that takes an owner away (`ownerLeaves`) leaves another active owner, so that
 * two owners disabling or demoting each other at once cannot leave the store without one.
 */
function stillAllowed(db: Database, principal: AdminPrincipal, target: StaffRow, ownerLeaves: boolean) {
  const owner = alias(staffUsers, 'other_owner');
  return {
    member: eq(staffUsers.role, target.role),
    actor: authorityHeld(db, principal),
    owners: ownerLeaves
      ? exists(
          db
            .select({ one: sql`1` })
            .from(owner)
            .where(and(eq(owner.role, 'owner'), eq(owner.status, 'active'), ne(owner.id, target.id))),
        )
      : sql`1`,
  };
}

type Guard = ReturnType<typeof stillAllowed>;

/**
 * The member's new status (or the one they have) where `guard` holds, else NULL: written into the NOT NULL
 * column, a guard that no longer holds fails the whole batch (sign-out and revocations included), and the
 * change's recheck (refusal) names why.
 */
const statusIf = (guard: Guard, status?: StaffRow['status']) =>
  onlyIf(sql`(${guard.member}) AND (${guard.actor}) AND (${guard.owners})`, status ?? staffUsers.status);

/** Why a guarded change to member `id` failed, read with the guard's own conditions. */
async function refusal(db: Database, principal: AdminPrincipal, id: string, guard: Guard): Promise<never> {
  const held = await db
    .select({
      owners: sql<number>`${guard.owners}`,
      actor: sql<number>`${guard.actor}`,
    })
    .from(staffUsers)
    .where(eq(staffUsers.id, id))
    .get();
  if (held && !held.owners) {
    throw conflict('last_owner', 'This change would leave the store without an active owner.');
  }
  if (held && !held.actor) throw authorityEnded(principal);
  throw conflict(
    'staff_changed',
    'The staff member changed while this request ran; read it again and retry.',
  );
}

/**
 * Clears a member's MFA (lost device and recovery codes) and signs them out: their next login asks an owner or
 * admin to enroll again, and lets other roles in with the password alone until they re-enroll.
 */
export async function resetStaffMfa(env: Env, caller: AdminCaller, id: string): Promise<StaffRow> {
  const before = await getStaff(env.DB, id);
  assertMayManage(caller.principal, before, { resetMfa: true });
  const db = createDb(env.DB);
  const guard = stillAllowed(db, caller.principal, before, false);
  const [updated] = await commit(db, caller, {
    statements: [
      db
        .update(staffUsers)
        .set({
          status: statusIf(guard),
          mfaSecretEncrypted: null,
          mfaEnabledAt: null,
          mfaLastStep: null,
          updatedAt: new Date(),
        })
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
    recheck: () => refusal(db, caller.principal, id, guard),
  });
  return updated[0] ?? before;
}
