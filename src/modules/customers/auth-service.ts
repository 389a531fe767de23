/**
 * Customer sign-up and sign-in. Login answers identically for an unknown email and a wrong password, and spends
 * the same hashing time on both. Consecutive failures lock the account for a growing time (a correct password
 * during the lock is refused too), on top of the per-IP and per-account rate limits in the handlers.
 */
import { eq, sql } from 'drizzle-orm';
import { customers } from '../../db/schema';
import { actingAs, type Caller } from '../../lib/caller';
import { commit } from '../../lib/commit';
import { constraintFailure } from '../../lib/d1-writes';
import type { Database } from '../../lib/db';
import { AppError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { dummyVerify, hashPassword, verifyPassword } from '../../lib/password';
import type { CustomerRow } from './schemas';

export const FREE_FAILURES = 5;
export const BASE_LOCK_MS = 30_000;
export const MAX_LOCK_MS = 15 * 60_000;

export const invalidCredentials = () =>
  new AppError(401, 'invalid_credentials', 'The email or password is not right.');

/**
 * The failure counter and the lock, computed by D1 from the stored count (not from a value read earlier), so
 * concurrent wrong guesses all count: the first FREE_FAILURES are free, then each failure locks the account for
 * BASE_LOCK_MS doubled per further failure, up to MAX_LOCK_MS.
 */
function recordFailure(db: Database, id: string) {
  const failures = sql`${customers.failedLogins} + 1`;
  const doublings = sql`min(${failures} - ${FREE_FAILURES}, 10)`;
  return db
    .update(customers)
    .set({
      failedLogins: failures,
      lockedUntil: sql`CASE WHEN ${failures} >= ${FREE_FAILURES}
        THEN ${Date.now()} + min(${BASE_LOCK_MS} << ${doublings}, ${MAX_LOCK_MS}) ELSE NULL END`,
    })
    .where(eq(customers.id, id));
}

function lockedError(until: Date): AppError {
  const seconds = Math.max(1, Math.ceil((until.getTime() - Date.now()) / 1000));
  return new AppError(429, 'account_locked', 'Too many failed sign-ins; try again later.', {
    headers: { 'Retry-After': String(seconds) },
  });
}

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
      events: [{ type: 'customer.created', aggregateType: 'customer', aggregateId: id }],
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

export async function authenticateCustomer(
  db: Database,
  email: string,
  password: string,
): Promise<CustomerRow> {
  const row = await db.select().from(customers).where(eq(customers.email, email)).get();
  if (!row?.passwordHash) {
    await dummyVerify(password);
    throw invalidCredentials();
  }
  if (row.lockedUntil && row.lockedUntil > new Date()) throw lockedError(row.lockedUntil);
  const { valid, needsRehash } = await verifyPassword(password, row.passwordHash);
  if (!valid) {
    await recordFailure(db, row.id);
    throw invalidCredentials();
  }
  await db
    .update(customers)
    .set({
      failedLogins: 0,
      lockedUntil: null,
      ...(needsRehash ? { passwordHash: await hashPassword(password) } : {}),
    })
    .where(eq(customers.id, row.id));
  return row;
}
