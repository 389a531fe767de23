/**
 * Failed attempts against one staff account, in src/modules/sessions/login-failures.ts. Wrong passwords count
 * per client network: after MAX_FAILURES in a row that network is refused every attempt on the account for
 * LOCK_MS (and again after each further failure), answered exactly as a wrong password, so the lock tells an
 * attacker nothing about which emails are staff, and a stranger's guesses cannot lock the member out of their own
 * network. Wrong or replayed second factors can only come from someone who knows the password, so they count
 * account-wide (ANY_NETWORK) and their lock holds everywhere: changing address buys no more TOTP guesses.
 * Only a completed login (tokens issued) clears the count: a correct password alone does not, or password + MFA
 * guesses could alternate forever.
 */
import type { Caller } from '../../lib/caller';
import type { Database } from '../../lib/db';
import * as failures from '../sessions/login-failures';

export const MAX_FAILURES = 5;
export const LOCK_MS = 15 * 60 * 1000;
const STAFF_LOCK: failures.LockPolicy = {
  freeFailures: MAX_FAILURES,
  baseLockMs: LOCK_MS,
  maxLockMs: LOCK_MS,
};

const fromCaller = (staffId: string, caller: Caller): failures.SignInAttempt => ({
  principalType: 'staff',
  principalId: staffId,
  network: failures.clientNetwork(caller.meta.ip),
});

/** Whether the caller's network (or every network) is locked out of the account. */
export function isLocked(db: Database, staffId: string, caller: Caller): Promise<boolean> {
  return failures.isLockedOut(db, fromCaller(staffId, caller));
}

/** A wrong password, counted against the caller's network. */
export function recordFailure(db: Database, staffId: string, caller: Caller): Promise<void> {
  return failures.recordFailure(db, fromCaller(staffId, caller), STAFF_LOCK);
}

/** A wrong or replayed second factor, counted against the account everywhere. */
export function recordCodeFailure(db: Database, staffId: string): Promise<void> {
  const attempt = { principalType: 'staff' as const, principalId: staffId, network: failures.ANY_NETWORK };
  return failures.recordFailure(db, attempt, STAFF_LOCK);
}

export function clearFailures(db: Database, staffId: string, caller: Caller) {
  return failures.clearFailures(db, fromCaller(staffId, caller));
}
