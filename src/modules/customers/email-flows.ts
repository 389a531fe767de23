/**
 * The emailed, single-use links of a customer account: address verification and password reset. Requests only
 * raise an event; the email consumer (src/modules/notifications) builds the mail here, issuing the token as it
 * does, so no token is ever in an event and a request's timing does not depend on the mail (or, for a reset, on
 * whether the account exists). Tokens are consumed by a conditional write (src/modules/sessions/one-time-tokens.ts),
 * so a link works once, before it expires, and a replay is a 400. A reset also ends every session, uses up the
 * customer's other reset links and lifts every lock.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { customers, oneTimeTokens } from '../../db/schema';
import { actingAs, type Caller } from '../../lib/caller';
import { commit } from '../../lib/commit';
import { createDb, type Database } from '../../lib/db';
import { AppError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { hashPassword } from '../../lib/password';
import type { EmailMessage } from '../email/types';
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

/** The verification mail, with a fresh token; null when the account is gone or its address already verified. */
export async function verificationMail(env: Env, customerId: string): Promise<EmailMessage | null> {
  const db = createDb(env.DB);
  const customer = await db
    .select({ email: customers.email, verifiedAt: customers.emailVerifiedAt })
    .from(customers)
    .where(and(eq(customers.id, customerId), isNull(customers.deletedAt)))
    .get();
  if (!customer?.email || customer.verifiedAt) return null;
  const { token } = await issueOneTimeToken(db, 'email_verification', { type: 'customer', id: customerId });
  return {
    to: customer.email,
    subject: 'Confirm your email address',
    text: `Welcome! Confirm your email address: ${link(env, '/account/verify-email', token)}\nToken: ${token}`,
  };
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

/**
 * Records the request as an event, whether or not an account has this email: the answer, and the work behind it,
 * are the same either way. The email consumer mails a link only if one does (`passwordResetMail`).
 */
export async function requestPasswordReset(env: Env, caller: Caller, email: string): Promise<void> {
  const db = createDb(env.DB);
  await commit(db, caller, {
    statements: [],
    events: [
      {
        type: 'password_reset.requested',
        aggregateType: 'password_reset',
        aggregateId: newId('pwr'),
        payload: { email },
      },
    ],
  });
}

/** The reset mail for the account with this email, with a fresh token; null when no account has it. */
export async function passwordResetMail(env: Env, email: string): Promise<EmailMessage | null> {
  const db = createDb(env.DB);
  const row = await db
    .select({ id: customers.id })
    .from(customers)
    .where(and(eq(customers.email, email), isNull(customers.deletedAt)))
    .get();
  if (!row) return null;
  const { token } = await issueOneTimeToken(db, 'password_reset', { type: 'customer', id: row.id });
  return {
    to: email,
    subject: 'Reset your password',
    text: `Reset your password within an hour: ${link(env, '/account/reset-password', token)}\nToken: ${token}\nIf you did not ask for this, ignore this email.`,
  };
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
