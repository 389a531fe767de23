/**
 * The admin principal behind a staff access token. The token proves who and which session; D1 says whether that
 * still holds: the session must be active, the account active, and an owner or admin must have MFA. Permissions
 * are the role's current ones (a demotion applies at once) narrowed to the token's `perms` claim.
 */
import { and, eq } from 'drizzle-orm';
import { sessions, staffUsers } from '../db/schema';
import { createDb } from '../lib/db';
import { invalidToken, verifyAccessToken } from '../lib/jwt';
import { MFA_REQUIRED_ROLES, ROLE_PERMISSIONS, type StaffPrincipal } from '../lib/permissions';

export async function staffPrincipal(env: Env, token: string): Promise<StaffPrincipal> {
  const claims = await verifyAccessToken(env, token, 'edgecart:admin');
  if (claims.typ !== 'staff') throw invalidToken('not a staff token');
  const row = await createDb(env.DB)
    .select({
      role: staffUsers.role,
      status: staffUsers.status,
      mfaEnabledAt: staffUsers.mfaEnabledAt,
      revokedAt: sessions.revokedAt,
      expiresAt: sessions.expiresAt,
    })
    .from(sessions)
    .innerJoin(staffUsers, eq(staffUsers.id, sessions.principalId))
    .where(
      and(
        eq(sessions.id, claims.sid),
        eq(sessions.principalType, 'staff'),
        eq(sessions.principalId, claims.sub),
      ),
    )
    .get();
  if (!row || row.revokedAt || row.expiresAt.getTime() <= Date.now() || row.status !== 'active') {
    throw invalidToken('session ended');
  }
  if (MFA_REQUIRED_ROLES.has(row.role) && !row.mfaEnabledAt) {
    throw invalidToken('this role requires MFA; log in again to set it up');
  }
  const granted = claims.perms ? new Set(claims.perms) : null;
  return {
    type: 'staff',
    id: claims.sub,
    role: row.role,
    sessionId: claims.sid,
    permissions: new Set(ROLE_PERMISSIONS[row.role].filter((p) => !granted || granted.has(p))),
  };
}
