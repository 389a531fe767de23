/**
 * The named permissions an admin principal can hold. Every admin route declares exactly one; the identity
 * module maps staff roles and scoped API keys onto these names.
 */
import type { StaffRole } from '../db/schema';

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
  'webhooks:manage',
  'settings:manage',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

/** Who is calling. Admin routes check `permissions`; a customer holds none. */
export type Principal =
  | { type: 'secret_key'; id: string; permissions: ReadonlySet<Permission> }
  | { type: 'staff'; id: string; role: StaffRole; sessionId: string; permissions: ReadonlySet<Permission> }
  | { type: 'customer'; id: string; sessionId: string; permissions: ReadonlySet<Permission> };
