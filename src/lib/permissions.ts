/**
 * The named permissions an admin principal can hold. Every admin route declares exactly one; the identity
 * module maps staff roles and scoped API keys onto these names.
 */
import type { StaffRole } from '../db/schema';
// With its extension: Node scripts import this file (scripts/lib/secret-key.mjs) and resolve no bare paths.
import { AppError } from './errors.ts';

export const PERMISSIONS = [
  'catalog:read',
  'catalog:write',
  'regions:write',
  'staff:manage',
  'api_keys:manage',
  'audit:read',
  'orders:read',
  'orders:write',
  'orders:refund',
  'inventory:read',
  'inventory:write',
  'shipping:manage',
  'discounts:manage',
  'webhooks:manage',
  'settings:manage',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

/** Who is calling. Admin routes check `permissions`; a customer holds none. */
export type StaffPrincipal = {
  type: 'staff';
  id: string;
  role: StaffRole;
  sessionId: string;
  permissions: ReadonlySet<Permission>;
};
export type AdminPrincipal =
  | { type: 'secret_key'; id: string; permissions: ReadonlySet<Permission> }
  | StaffPrincipal;
export type CustomerPrincipal = {
  type: 'customer';
  id: string;
  sessionId: string;
  permissions: ReadonlySet<Permission>;
};
export type Principal = AdminPrincipal | CustomerPrincipal;

const KNOWN = new Set<string>(PERMISSIONS);

export function isPermission(name: string): name is Permission {
  return KNOWN.has(name);
}

const READS = PERMISSIONS.filter((p) => p.endsWith(':read'));

/**
 * What each staff role may do. Owner and admin hold every permission; what only an owner may do (grant or
 * change the owner role, manage an owner) is a rule of the staff service, not a permission, so no key or
 * admin can be handed it. Regions set currencies and tax rates, so they stay with owner and admin.
 * read_only derives from the list, so a read permission added later reaches it without an edit here.
 */
export const ROLE_PERMISSIONS: Record<StaffRole, readonly Permission[]> = {
  owner: PERMISSIONS,
  admin: PERMISSIONS,
  catalog_manager: ['catalog:read', 'catalog:write', 'inventory:read', 'inventory:write', 'discounts:manage'],
  order_manager: ['catalog:read', 'orders:read', 'orders:write', 'orders:refund', 'inventory:read'],
  support: ['catalog:read', 'orders:read', 'inventory:read'],
  read_only: READS,
};

/** Roles that must pass MFA before they receive an admin token. */
export const MFA_REQUIRED_ROLES: ReadonlySet<StaffRole> = new Set(['owner', 'admin']);

/**
 * Nobody hands out what they do not hold: a secret key's permissions, a role given by an invitation or a role
 * change (a role grants ROLE_PERMISSIONS[role]), and equally switching such a grant off (revoking a key or an
 * invitation, changing a member), so a narrow principal cannot disable a broad one. The detail is `refusal`
 * followed by every missing permission.
 */
export function refuseEscalation(
  principal: AdminPrincipal,
  wanted: readonly string[],
  refusal: string,
): void {
  // Names no longer in PERMISSIONS (a renamed permission) grant nothing, so they are nothing to hold.
  const missing = wanted.filter(isPermission).filter((p) => !principal.permissions.has(p));
  if (missing.length > 0) {
    throw new AppError(403, 'permission_escalation', `${refusal}: ${missing.join(', ')}.`);
  }
}
