/**
 * The emailed, single-use links of a customer account: address verification and password reset. Tokens are
 * consumed by a conditional write (src/modules/sessions/one-time-tokens.ts), so a link works once, before it expires, and a replay
 * is a 400. A reset also ends every session, uses up the customer's other reset links and lifts every lock.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { customers, oneTimeTokens } from '../../db/schema';
import { actingAs, type Caller, callerLogger } from '../../lib/caller';
import { commit } from '../../lib/commit';
import { createDb, type Database } from '../../lib/db';
import { AppError } from '../../lib/errors';
import { hashPassword } from '../../lib/password';
import { sendEmail } from '../email/send';
import { clearAllFailures } from '../sessions/login-failures';
import { issueOneTimeToken, redeemOneTimeToken } from '../sessions/one-time-tokens';
import { revokeAllSessionsStatement } from '../sessions/service';

/** The customer an emailed token was sent to, using it up; used, expired and unknown tokens are all a 400. */
async function redeem(db: Database, purpose: 'email_verification' | 'password_reset', token: string) {
  const customerId = await redeemOneTimeToken(db, purpose, 'customer', token);
  if (!customerId) throw new AppError(400, 'invalid_token', 'The link is invalid, expired or already used.');
  return customerId;
}

function link(env: Env, path: string, token: string): string {
  return `${env.PUBLIC_URL}${path}?token=${encodeURIComponent(token)}`;
}

export async function sendVerificationEmail(
  env: Env,
  caller: Caller,
  customer: { id: string; email: string },
): Promise<void> {
  const { token } = await issueOneTimeToken(createDb(env.DB), 'email_verification', {
    type: 'customer',
    id: customer.id,
  });
  await sendEmail(env, callerLogger(caller), {
    to: customer.email,
    subject: 'Confirm your email address',
    text: `Welcome! Confirm your email address: ${link(env, '/account/verify-email', token)}\nToken: ${token}`,
  });
}

export async function confirmEmail(env: Env, caller: Caller, token: string): Promise<void> {
  const db = createDb(env.DB);
  const customerId = await redeem(db, 'email_verification', token);
  const now = new Date();
  await commit(db, actingAs(caller, { type: 'customer', id: customerId }), {
    statements: [
      db
        .update(customers)
        .set({ emailVerifiedAt: now, updatedAt: now })
        .where(and(eq(customers.id, customerId), isNull(customers.emailVerifiedAt))),
    ],
  });
}

/** Mails a reset link when an account has this email; silently does nothing otherwise. */
export async function requestPasswordReset(env: Env, caller: Caller, email: string): Promise<void> {
  const db = createDb(env.DB);
  const row = await db.select({ id: customers.id }).from(customers).where(eq(customers.email, email)).get();
  if (!row) return;
  const { token } = await issueOneTimeToken(db, 'password_reset', { type: 'customer', id: row.id });
  await sendEmail(env, callerLogger(caller), {
    to: email,
    subject: 'Reset your password',
    text: `Reset your password within an hour: ${link(env, '/account/reset-password', token)}\nToken: ${token}\nIf you did not ask for this, ignore this email.`,
  });
}

export async function resetPassword(
  env: Env,
  caller: Caller,
  token: string,
  password: string,
): Promise<void> {
  const db = createDb(env.DB);
  const customerId = await redeem(db, 'password_reset', token);
  const now = new Date();
  await commit(db, actingAs(caller, { type: 'customer', id: customerId }), {
    statements: [
      db
        .update(customers)
        .set({ passwordHash: await hashPassword(password), updatedAt: now })
        .where(and(eq(customers.id, customerId), isNull(customers.deletedAt))),
      db
        .update(oneTimeTokens)
        .set({ usedAt: now })
        .where(
          and(
            eq(oneTimeTokens.principalType, 'customer'),
            eq(oneTimeTokens.principalId, customerId),
            eq(oneTimeTokens.purpose, 'password_reset'),
            isNull(oneTimeTokens.usedAt),
          ),
        ),
      revokeAllSessionsStatement(db, 'customer', customerId, 'password_changed'),
      // The owner proved control of the address: no network stays locked out of the new password.
      clearAllFailures(db, 'customer', customerId),
    ],
  });
}
