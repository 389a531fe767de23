/**
 * Who may manage whom. Owner and admin hold the same permissions; what separates them is here: only an owner
 * grants the owner role or changes an owner (role, status, name, MFA, pending owner invites), so neither an admin
 * nor any API key can create or lock out an owner. Nobody changes their own role, status or MFA, which also means
 * the acting owner always remains: a store cannot lose its last owner through the API.
 */
import type { StaffRole } from '../../db/schema';
import { AppError } from '../../lib/errors';
import type { AdminPrincipal } from '../../lib/permissions';

const isOwner = (principal: AdminPrincipal) => principal.type === 'staff' && principal.role === 'owner';

export function assertMayGrantRole(principal: AdminPrincipal, role: StaffRole): void {
  if (role === 'owner' && !isOwner(principal)) {
    throw new AppError(403, 'owner_only', 'Only an owner can grant the owner role.');
  }
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
  if (change.role) assertMayGrantRole(principal, change.role);
}
