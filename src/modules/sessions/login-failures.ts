/**
 * The one owner of `login_failures`: failed sign-ins counted per (account, client network). A lock refuses only
 * the locked network's attempts on that account, so a stranger guessing from elsewhere slows themselves down but
 * cannot lock the owner out; guessing spread over many networks is bounded by the per-account rate limit. A
 * locked attempt must be answered exactly like a wrong password (same status, body and hashing work), so the lock
 * tells nobody whether the account exists. Failures only someone past the password can make (a staff member's
 * second factor) count under ANY_NETWORK instead, whose lock applies to every network.
 */
import { and, eq, gt, inArray, lt, type SQL, sql } from 'drizzle-orm';
import { loginFailures, type PrincipalType } from '../../db/schema';
import type { Database } from '../../lib/db';

/** The first `freeFailures` are free; then each failure locks for `baseLockMs`, doubled per further one, up to `maxLockMs`. */
export type LockPolicy = { freeFailures: number; baseLockMs: number; maxLockMs: number };

/** Who was signed in to, and from where: `clientNetwork(ip)`, or ANY_NETWORK. */
export type SignInAttempt = { principalType: PrincipalType; principalId: string; network: string };

/** The pseudo-network of failures that lock the account everywhere. */
export const ANY_NETWORK = '*';

/** A network's count is forgotten a day after its last failure, which also bounds the rows an account gathers. */
export const FORGET_AFTER_MS = 24 * 3600 * 1000;

/**
 * The unit a lock applies to: an IPv4 address, or the /64 prefix of an IPv6 address (one subscriber usually holds
 * a whole /64, so counting single IPv6 addresses would hand out fresh free guesses by the billion).
 */
export function clientNetwork(ip: string | null): string {
  if (!ip) return 'unknown';
  const address = ip.trim().toLowerCase();
  if (!address.includes(':')) return address;
  // An IPv4-mapped IPv6 address (::ffff:192.0.2.1) is that IPv4 address.
  if (address.includes('.')) return address.slice(address.lastIndexOf(':') + 1);
  const [head = '', tail] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

const rowsOf = (attempt: SignInAttempt, networks: string[]) =>
  and(
    eq(loginFailures.principalType, attempt.principalType),
    eq(loginFailures.principalId, attempt.principalId),
    inArray(loginFailures.network, networks),
  );

/** Whether this attempt's network, or every network, is locked out of this account right now. */
export async function isLockedOut(db: Database, attempt: SignInAttempt): Promise<boolean> {
  const row = await db
    .select({ lockedUntil: loginFailures.lockedUntil })
    .from(loginFailures)
    .where(and(rowsOf(attempt, [attempt.network, ANY_NETWORK]), gt(loginFailures.lockedUntil, new Date())))
    .get();
  return row !== undefined;
}

/**
 * Counts a failure. The count and the lock are computed by D1 from the stored count (not from a value read
 * earlier), so concurrent wrong guesses all count; the account's stale rows are dropped in the same batch.
 */
export async function recordFailure(db: Database, attempt: SignInAttempt, policy: LockPolicy): Promise<void> {
  const now = Date.now();
  const { freeFailures, baseLockMs, maxLockMs } = policy;
  const lockAfter = (failures: SQL) =>
    sql`CASE WHEN ${failures} >= ${freeFailures}
      THEN ${now} + min(${baseLockMs} << min(${failures} - ${freeFailures}, 20), ${maxLockMs}) ELSE NULL END`;
  const next = sql`${loginFailures.failures} + 1`;
  await db.batch([
    db
      .delete(loginFailures)
      .where(
        and(
          eq(loginFailures.principalType, attempt.principalType),
          eq(loginFailures.principalId, attempt.principalId),
          lt(loginFailures.lastFailureAt, new Date(now - FORGET_AFTER_MS)),
        ),
      ),
    db
      .insert(loginFailures)
      .values({
        principalType: attempt.principalType,
        principalId: attempt.principalId,
        network: attempt.network,
        failures: 1,
        lockedUntil: lockAfter(sql`1`),
        lastFailureAt: new Date(now),
      })
      .onConflictDoUpdate({
        target: [loginFailures.principalType, loginFailures.principalId, loginFailures.network],
        set: { failures: next, lockedUntil: lockAfter(next), lastFailureAt: new Date(now) },
      }),
  ]);
}

/**
 * Forgets this network's failures and the account-wide ones: a sign-in from it succeeded. Other networks' counts
 * (and locks) stay, so a success does not hand an attacker elsewhere a fresh allowance.
 */
export function clearFailures(db: Database, attempt: SignInAttempt) {
  return db.delete(loginFailures).where(rowsOf(attempt, [attempt.network, ANY_NETWORK]));
}

/** Forgets every network's failures on the account: its password was reset, or its data erased. */
export function clearAllFailures(db: Database, principalType: PrincipalType, principalId: string) {
  return db
    .delete(loginFailures)
    .where(and(eq(loginFailures.principalType, principalType), eq(loginFailures.principalId, principalId)));
}
