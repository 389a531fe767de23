/**
 * Staff sessions after login: tokens carry the role's permissions; a refresh re-checks the account (still
 * active, MFA still satisfied for owner/admin) before rotating, so a disabled member cannot keep a session alive.
 * A refresh token belonging to a customer session is refused here without being consumed.
 */
import { eq } from 'drizzle-orm';
import { staffUsers } from '../../db/schema';
import type { RequestMeta } from '../../lib/caller';
import { createDb } from '../../lib/db';
import { AppError } from '../../lib/errors';
import { MFA_REQUIRED_ROLES, ROLE_PERMISSIONS } from '../../lib/permissions';
import { issueTokens } from '../sessions/issue-tokens';
import type { TokenResponse } from '../sessions/schemas';
import {
  type RefreshTokenOwner,
  refreshTokenOwner,
  revokeSession,
  rotateRefreshToken,
} from '../sessions/service';

type Staff = { id: string; role: (typeof staffUsers.$inferSelect)['role'] };

const invalidRefresh = () =>
  new AppError(401, 'invalid_refresh_token', 'The refresh token is not valid.', {
    headers: { 'WWW-Authenticate': 'Bearer realm="edgecart-admin", error="invalid_token"' },
  });

/** Tokens in a new session, or in `session` after its refresh token rotated. */
export function staffTokens(
  env: Env,
  meta: RequestMeta,
  staff: Staff,
  session?: { sessionId: string; refreshToken: string },
): Promise<TokenResponse> {
  return issueTokens(
    env,
    meta,
    { type: 'staff', id: staff.id, role: staff.role, perms: [...ROLE_PERMISSIONS[staff.role]] },
    session,
  );
}

/**
 * Rotates a staff refresh token whose `owner` (refreshTokenOwner, looked up first so the handler can count the
 * attempt against the member before anything is consumed) is a staff session.
 */
export async function refreshStaffTokens(
  env: Env,
  meta: RequestMeta,
  presented: string,
  owner: RefreshTokenOwner | undefined,
): Promise<TokenResponse> {
  if (owner?.principalType !== 'staff') throw invalidRefresh();
  const db = createDb(env.DB);
  const { session, refreshToken } = await rotateRefreshToken(db, presented);
  const staff = await db.select().from(staffUsers).where(eq(staffUsers.id, session.principalId)).get();
  if (staff?.status !== 'active' || (MFA_REQUIRED_ROLES.has(staff.role) && !staff.mfaEnabledAt)) {
    await revokeSession(db, session.id, 'revoked');
    throw invalidRefresh();
  }
  return staffTokens(env, meta, staff, { sessionId: session.id, refreshToken });
}

/** Ends the session of a staff refresh token; anything else is ignored, so logout reveals nothing. */
export async function logoutStaff(d1: D1Database, presented: string): Promise<void> {
  const db = createDb(d1);
  const owner = await refreshTokenOwner(db, presented);
  if (owner?.principalType === 'staff') await revokeSession(db, owner.sessionId, 'logout');
}
