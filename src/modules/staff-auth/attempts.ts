/**
 * Failed attempts against one staff account (wrong password, wrong or replayed MFA code) count together.
 * After MAX_FAILURES in a row the account refuses every attempt for LOCK_MS, answering exactly as to a wrong
 * password, so the lock tells an attacker nothing about which emails are staff. Only a completed login (tokens
 * issued) clears the count: a correct password alone does not, or password + MFA guesses could alternate forever.
 */
import { eq, sql } from 'drizzle-orm';
import { staffUsers } from '../../db/schema';
import type { Database } from '../../lib/db';

export const MAX_FAILURES = 5;
export const LOCK_MS = 15 * 60 * 1000;

export function isLocked(staff: { lockedUntil: Date | null }, now = Date.now()): boolean {
  return staff.lockedUntil !== null && staff.lockedUntil.getTime() > now;
}

export function recordFailure(db: Database, staffId: string) {
  const lockUntil = Date.now() + LOCK_MS;
  return db
    .update(staffUsers)
    .set({
      failedLogins: sql`${staffUsers.failedLogins} + 1`,
      lockedUntil: sql`CASE WHEN ${staffUsers.failedLogins} + 1 >= ${MAX_FAILURES} THEN ${lockUntil} ELSE ${staffUsers.lockedUntil} END`,
    })
    .where(eq(staffUsers.id, staffId));
}

export function clearFailures(db: Database, staffId: string) {
  return db.update(staffUsers).set({ failedLogins: 0, lockedUntil: null }).where(eq(staffUsers.id, staffId));
}
