/**
 * Single-use, expiring tokens sent by email (verification, password reset). Only SHA-256 is stored, and using
 * one is a conditional UPDATE, so a token works exactly once even under concurrent use.
 */
import { and, eq, gt, isNull } from 'drizzle-orm';
import { oneTimeTokens } from '../../db/schema';
import { randomToken, sha256Hex } from '../../lib/crypto';
import type { Database } from '../../lib/db';
import { AppError } from '../../lib/errors';

/** The purposes customers' emailed links serve (staff MFA challenges use the same table elsewhere). */
type Purpose = Extract<
  (typeof oneTimeTokens.$inferSelect)['purpose'],
  'email_verification' | 'password_reset'
>;

export const TOKEN_LIFETIMES_MS: Record<Purpose, number> = {
  email_verification: 24 * 3600 * 1000,
  password_reset: 3600 * 1000,
};

export async function createOneTimeToken(
  db: Database,
  purpose: Purpose,
  customerId: string,
): Promise<string> {
  const token = randomToken(32);
  await db.insert(oneTimeTokens).values({
    tokenHash: await sha256Hex(token),
    purpose,
    principalType: 'customer',
    principalId: customerId,
    expiresAt: new Date(Date.now() + TOKEN_LIFETIMES_MS[purpose]),
  });
  return token;
}

/** The customer id the token was issued for, consuming it; used, expired and unknown tokens are all a 400. */
export async function consumeOneTimeToken(db: Database, purpose: Purpose, token: string): Promise<string> {
  const now = new Date();
  const [row] = await db
    .update(oneTimeTokens)
    .set({ usedAt: now })
    .where(
      and(
        eq(oneTimeTokens.tokenHash, await sha256Hex(token)),
        eq(oneTimeTokens.purpose, purpose),
        isNull(oneTimeTokens.usedAt),
        gt(oneTimeTokens.expiresAt, now),
      ),
    )
    .returning({ customerId: oneTimeTokens.principalId });
  if (!row) throw new AppError(400, 'invalid_token', 'The link is invalid, expired or already used.');
  return row.customerId;
}
