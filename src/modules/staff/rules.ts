/**
 * Who may manage whom. A role grants ROLE_PERMISSIONS[role], and nobody hands out what they do not hold (the
 * same rule as for API keys, src/lib/permissions.ts): granting a role, by invitation or by a role change, needs
 * every permission of that role, and so does changing a member or revoking an invitation, so a principal holding
 * only staff:manage can neither make an admin nor switch one off.
 *
 * Owner and admin hold the same permissions; what separates them is here: only an owner grants the owner role or
 * changes an owner (role, status, name, MFA, pending owner invites), so neither an admin nor any API key can
 * create or lock out an owner. Nobody changes their own role, status or MFA, which also means the acting owner
 * always remains: a store cannot lose its last owner through the API. Two owners acting at once could each pass
 * these checks, so the write re-checks them in its batch and keeps an active owner (service.ts, stillAllowed).
 */
import type { StaffRole } from '../../db/schema';
import { AppError } from '../../lib/errors';
import { type AdminPrincipal, ROLE_PERMISSIONS, refuseEscalation } from '../../lib/permissions';

const isOwner = (principal: AdminPrincipal) => principal.type === 'staff' && principal.role === 'owner';

/** Granting `role` (`action` names how, for the detail of a refusal). */
export function assertMayGrantRole(
  principal: AdminPrincipal,
  role: StaffRole,
  action = `grant the ${role} role`,
): void {
  if (role === 'owner' && !isOwner(principal)) {
    throw new AppError(403, 'owner_only', `Only an owner can ${action}.`);
  }
  refuseEscalation(
    principal,
    ROLE_PERMISSIONS[role],
    `You cannot ${action}, which holds permissions you do not hold`,
  );
}

/**
 * Revoking an invitation to `role`, directly or by inviting its address again: it switches off a grant, which
 * needs what the grant holds (as revoking a key does).
 */
export function assertMayRevokeInvite(principal: AdminPrincipal, role: StaffRole): void {
  assertMayGrantRole(principal, role, `revoke an invitation to the ${role} role`);
}

export function assertMayManage(
  principal: AdminPrincipal,
  target: { id: string; role: StaffRole },
  change: { role?: StaffRole | undefined; status?: string | undefined; resetMfa?: boolean },
): void {
  if (target.role === 'owner' && !isOwner(principal)) {
    throw new AppError(403, 'owner_only', 'Only an owner can change an owner.');
  }
  if (
    target.id === principal.id &&
    (change.resetMfa || change.role !== undefined || change.status !== undefined)
  ) {
    throw new AppError(403, 'cannot_change_self', 'You cannot change your own role, status or MFA.');
  }
  refuseEscalation(
    principal,
    ROLE_PERMISSIONS[target.role],
    `You cannot change a member whose ${target.role} role holds permissions you do not hold`,
  );
  if (change.role) assertMayGrantRole(principal, change.role);
}
