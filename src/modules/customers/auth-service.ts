/**
 * Customer sign-up and sign-in. Login answers identically for an unknown email and a wrong password, and spends
 * the same hashing time on both. Consecutive failures lock the account for a growing time (a correct password
 * during the lock is refused too), on top of the per-IP and per-account rate limits in the handlers.
 */
import { eq, sql } from 'drizzle-orm';
import { customers } from '../../db/schema';
import type { Database } from '../../lib/db';
import { AppError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { dummyVerify, hashPassword, verifyPassword } from '../../lib/password';
import type { CustomerRow } from './view';

export const FREE_FAILURES = 5;
const BASE_LOCK_MS = 30_000;
const MAX_LOCK_MS = 15 * 60_000;

export const invalidCredentials = () =>
  new AppError(401, 'invalid_credentials', 'The email or password is not right.');

/** The lock after `failures` consecutive failures: none for the first few, then doubling up to 15 minutes. */
export function lockDuration(failures: number): number {
  if (failures < FREE_FAILURES) return 0;
  return Math.min(BASE_LOCK_MS * 2 ** (failures - FREE_FAILURES), MAX_LOCK_MS);
}

function lockedError(until: Date): AppError {
  const seconds = Math.max(1, Math.ceil((until.getTime() - Date.now()) / 1000));
  return new AppError(429, 'account_locked', 'Too many failed sign-ins; try again later.', {
    headers: { 'Retry-After': String(seconds) },
  });
}

export async function registerCustomer(
  db: Database,
  input: { email: string; password: string; first_name?: string; last_name?: string; locale?: string },
): Promise<CustomerRow> {
  const existing = await db
    .select({ id: customers.id })
    .from(customers)
    .where(eq(customers.email, input.email))
    .get();
  if (existing)
    throw new AppError(409, 'email_taken', 'An account with this email already exists; sign in instead.');
  try {
    const [row] = await db
      .insert(customers)
      .values({
        id: newId('cus'),
        email: input.email,
        passwordHash: await hashPassword(input.password),
        firstName: input.first_name ?? null,
        lastName: input.last_name ?? null,
        locale: input.locale ?? null,
      })
      .returning();
    return row as CustomerRow;
  } catch (error) {
    // Two sign-ups with one email at once: the UNIQUE index decides, the loser gets the same 409.
    if (String(error).includes('UNIQUE'))
      throw new AppError(409, 'email_taken', 'An account with this email already exists.');
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
    const failures = row.failedLogins + 1;
    const lock = lockDuration(failures);
    await db
      .update(customers)
      .set({
        failedLogins: sql`${customers.failedLogins} + 1`,
        lockedUntil: lock ? new Date(Date.now() + lock) : null,
      })
      .where(eq(customers.id, row.id));
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
