/**
 * Customer sign-up and sign-in. Login answers identically for an unknown email, a wrong password and a locked
 * attempt (status, body, and one PBKDF2 run each), so no answer tells whether an account exists. Failures are
 * counted per (account, client network): a network that keeps failing is locked out of that account for a
 * growing time (the right password included), while the owner signing in from elsewhere is not; the per-IP and
 * per-account rate limits in the handlers bound guessing spread over many networks. A sign-in's session is written
 * only while the password it verified is still the account's (see signInWithPassword).
 */
import { and, eq, exists, inArray, sql } from 'drizzle-orm';
import { customers } from '../../db/schema';
import { actingAs, type Caller } from '../../lib/caller';
import { commit } from '../../lib/commit';
import { constraintFailure } from '../../lib/d1-writes';
import type { Database } from '../../lib/db';
import { AppError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { dummyVerify, hashPassword, verifyPassword } from '../../lib/password';
import {
  clearFailures,
  clientNetwork,
  isLockedOut,
  type LockPolicy,
  recordFailure,
  type SignInAttempt,
} from '../sessions/login-failures';
import { type NewSession, startSessionWhile } from '../sessions/service';
import type { CustomerRow } from './schemas';

/** Five free failures per network, then 30 s doubling with each further failure, up to 15 minutes. */
export const CUSTOMER_LOCK: LockPolicy = { freeFailures: 5, baseLockMs: 30_000, maxLockMs: 15 * 60_000 };

export const invalidCredentials = () =>
  new AppError(401, 'invalid_credentials', 'The email or password is not right.');

export async function registerCustomer(
  db: Database,
  caller: Caller,
  input: { email: string; password: string; first_name?: string; last_name?: string; locale?: string },
): Promise<CustomerRow> {
  const existing = await db
    .select({ id: customers.id })
    .from(customers)
    .where(eq(customers.email, input.email))
    .get();
  if (existing)
    throw new AppError(409, 'email_taken', 'An account with this email already exists; sign in instead.');
  const id = newId('cus');
  try {
    // Whoever signs up acts as the customer they become.
    const [inserted] = await commit(db, actingAs(caller, { type: 'customer', id }), {
      statements: [
        db
          .insert(customers)
          .values({
            id,
            email: input.email,
            passwordHash: await hashPassword(input.password),
            firstName: input.first_name ?? null,
            lastName: input.last_name ?? null,
            locale: input.locale ?? null,
          })
          .returning(),
      ],
      events: [
        { type: 'customer.created', aggregateType: 'customer', aggregateId: id, payload: { id } },
        // The email consumer mails the link: a slow mail API never slows the sign-up.
        {
          type: 'customer.email_verification_requested',
          aggregateType: 'customer',
          aggregateId: id,
          payload: { id },
        },
      ],
    });
    return inserted[0] as CustomerRow;
  } catch (error) {
    // Two sign-ups with one email at once: the UNIQUE index decides, the loser gets the same 409.
    if (constraintFailure(error)?.kind === 'unique') {
      throw new AppError(409, 'email_taken', 'An account with this email already exists; sign in instead.');
    }
    throw error;
  }
}

/**
 * Checks `password` against the customer's, counting a failure against the caller's network. An attempt from a
 * network locked out of the account is refused without looking at the password, yet with the same work and answer
 * as a wrong one. Returns whether the stored hash should be upgraded.
 */
export async function verifyCustomerPassword(
  db: Database,
  caller: Caller,
  customer: { id: string; passwordHash: string },
  password: string,
): Promise<{ attempt: SignInAttempt; needsRehash: boolean }> {
  const attempt: SignInAttempt = {
    principalType: 'customer',
    principalId: customer.id,
    network: clientNetwork(caller.meta.ip),
  };
  if (await isLockedOut(db, attempt)) {
    await dummyVerify(password);
    throw invalidCredentials();
  }
  const { valid, needsRehash } = await verifyPassword(password, customer.passwordHash);
  if (!valid) {
    await recordFailure(db, attempt, CUSTOMER_LOCK);
    throw invalidCredentials();
  }
  return { attempt, needsRehash };
}

/**
 * Signs in the customer whose email and password these are: a new session, started only while the stored password
 * hash is still the one verified (or the upgrade of it this sign-in wrote). A password reset or change, an erasure
 * or an OpenID sign-in that takes the account over ends every session, and may commit between the check and the
 * session's insert: the database compares the hash in that insert, so the session is not written and the answer
 * is 401 `invalid_credentials`, as a sign-in after the change would get. The hash may also have changed only in
 * form (another sign-in upgraded it meanwhile): so a refused session is tried once more from the top, verifying
 * the password against the hash as it is now, which the old password fails after a real change.
 */
export async function signInWithPassword(
  db: Database,
  caller: Caller,
  input: { email: string; password: string },
): Promise<{ customer: CustomerRow; session: NewSession }> {
  for (let attempt = 1; attempt <= SIGN_IN_ATTEMPTS; attempt++) {
    const signedIn = await signInOnce(db, caller, input);
    if (signedIn) return signedIn;
  }
  throw invalidCredentials();
}

/** Sign-ins one request tries: the second after the stored hash changed under the first. */
const SIGN_IN_ATTEMPTS = 2;

/** One sign-in against the stored hash as read; null when the hash changed before the session was written. */
async function signInOnce(
  db: Database,
  caller: Caller,
  input: { email: string; password: string },
): Promise<{ customer: CustomerRow; session: NewSession } | null> {
  const { email, password } = input;
  const row = await db.select().from(customers).where(eq(customers.email, email)).get();
  if (!row?.passwordHash) {
    await dummyVerify(password);
    throw invalidCredentials();
  }
  const verified = row.passwordHash;
  const { attempt, needsRehash } = await verifyCustomerPassword(
    db,
    caller,
    { id: row.id, passwordHash: verified },
    password,
  );
  const upgraded = needsRehash ? await hashPassword(password) : null;
  await db.batch([
    clearFailures(db, attempt),
    ...(upgraded
      ? [
          // Only over the hash verified: a password set since stays.
          db
            .update(customers)
            .set({ passwordHash: upgraded })
            .where(and(eq(customers.id, row.id), eq(customers.passwordHash, verified))),
        ]
      : []),
  ]);
  const current = upgraded ? [verified, upgraded] : [verified];
  const session = await startSessionWhile(
    db,
    { principalType: 'customer', principalId: row.id, userAgent: caller.meta.userAgent },
    exists(
      db
        .select({ one: sql`1` })
        .from(customers)
        .where(and(eq(customers.id, row.id), inArray(customers.passwordHash, current))),
    ),
  );
  return session ? { customer: row, session } : null;
}
