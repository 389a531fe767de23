/**
 * Staff login, step one: the password. What comes next depends on the account: a member with MFA gets an
 * `mfa_...` challenge, an owner or admin without MFA gets an `enroll_...` token and must set it up, anyone else
 * is signed in. No admin token leaves this step for a role that requires MFA.
 */
import { eq } from 'drizzle-orm';
import { staffUsers } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { createDb } from '../../lib/db';
import { AppError } from '../../lib/errors';
import { dummyVerify, hashPassword, verifyPassword } from '../../lib/password';
import { MFA_REQUIRED_ROLES } from '../../lib/permissions';
import { issueOneTimeToken } from '../sessions/one-time-tokens';
import { clearFailures, isLocked, recordFailure } from './attempts';

export type StaffRow = typeof staffUsers.$inferSelect;

export type LoginOutcome =
  | { next: 'signed_in'; staff: StaffRow }
  | { next: 'mfa'; token: string; expiresIn: number }
  | { next: 'enroll'; token: string; expiresIn: number };

export const invalidCredentials = () =>
  new AppError(401, 'invalid_credentials', 'The email or password is wrong.');

export async function checkPassword(
  d1: D1Database,
  caller: Caller,
  input: { email: string; password: string },
): Promise<LoginOutcome> {
  const { email, password } = input;
  const db = createDb(d1);
  const staff = await db.select().from(staffUsers).where(eq(staffUsers.email, email)).get();
  if (!staff || (await isLocked(db, staff.id, caller))) {
    // Same work and the same answer as a wrong password.
    await dummyVerify(password);
    throw invalidCredentials();
  }
  const { valid, needsRehash } = await verifyPassword(password, staff.passwordHash);
  if (!valid || staff.status !== 'active') {
    if (!valid) await recordFailure(db, staff.id, caller);
    throw invalidCredentials();
  }
  if (needsRehash) {
    await db
      .update(staffUsers)
      .set({ passwordHash: await hashPassword(password) })
      .where(eq(staffUsers.id, staff.id));
  }

  if (staff.mfaEnabledAt) {
    return { next: 'mfa', ...(await issueOneTimeToken(db, 'staff_mfa', { type: 'staff', id: staff.id })) };
  }
  if (MFA_REQUIRED_ROLES.has(staff.role)) {
    return {
      next: 'enroll',
      ...(await issueOneTimeToken(db, 'staff_mfa_enrollment', { type: 'staff', id: staff.id })),
    };
  }
  await clearFailures(db, staff.id, caller);
  return { next: 'signed_in', staff };
}
