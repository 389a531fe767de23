/**
 * The one owner of `one_time_tokens`: single-use, expiring secrets a client presents once to take one step.
 * Customers get them by email (address verification, password reset); staff get them between login steps
 * (`mfa_...`: password checked, a second factor is due; `enroll_...`: MFA must be set up first). Only SHA-256 is
 * stored, and using one is a conditional UPDATE, so a token works exactly once even under concurrent use.
 */
import { and, eq, gt, isNull } from 'drizzle-orm';
import { oneTimeTokens } from '../../db/schema';
import { randomToken, sha256Hex } from '../../lib/crypto';
import type { Database } from '../../lib/db';

export type OneTimePurpose = (typeof oneTimeTokens.$inferSelect)['purpose'];
type PrincipalType = (typeof oneTimeTokens.$inferSelect)['principalType'];

/** How long each kind lives, and the prefix that tells a client (and a log reader) which step it opens. */
export const ONE_TIME_TOKENS: Record<OneTimePurpose, { ttlMs: number; prefix: string }> = {
  email_verification: { ttlMs: 24 * 3600 * 1000, prefix: '' },
  password_reset: { ttlMs: 3600 * 1000, prefix: '' },
  staff_mfa: { ttlMs: 5 * 60 * 1000, prefix: 'mfa_' },
  staff_mfa_enrollment: { ttlMs: 15 * 60 * 1000, prefix: 'enroll_' },
};

/** A live token, found but not used up: the principal it was issued to and its hash (to consume it later). */
export type OneTimeGrant = { principalId: string; tokenHash: string };

export async function issueOneTimeToken(
  db: Database,
  purpose: OneTimePurpose,
  principal: { type: PrincipalType; id: string },
): Promise<{ token: string; expiresIn: number }> {
  const { ttlMs, prefix } = ONE_TIME_TOKENS[purpose];
  const token = `${prefix}${randomToken(32)}`;
  await db.insert(oneTimeTokens).values({
    tokenHash: await sha256Hex(token),
    purpose,
    principalType: principal.type,
    principalId: principal.id,
    expiresAt: new Date(Date.now() + ttlMs),
  });
  return { token, expiresIn: ttlMs / 1000 };
}

/** The unused, unexpired token `token` is for `purpose` and that kind of principal, or null; nothing is used up. */
export async function findOneTimeToken(
  db: Database,
  purpose: OneTimePurpose,
  principalType: PrincipalType,
  token: string,
): Promise<OneTimeGrant | null> {
  const tokenHash = await sha256Hex(token);
  const row = await db
    .select({ principalId: oneTimeTokens.principalId })
    .from(oneTimeTokens)
    .where(
      and(
        eq(oneTimeTokens.tokenHash, tokenHash),
        eq(oneTimeTokens.purpose, purpose),
        eq(oneTimeTokens.principalType, principalType),
        isNull(oneTimeTokens.usedAt),
        gt(oneTimeTokens.expiresAt, new Date()),
      ),
    )
    .get();
  return row ? { principalId: row.principalId, tokenHash } : null;
}

/** The conditional write that uses a found token up: it returns a row only for the one caller that won. */
export function useUpOneTimeToken(db: Database, grant: OneTimeGrant) {
  return db
    .update(oneTimeTokens)
    .set({ usedAt: new Date() })
    .where(and(eq(oneTimeTokens.tokenHash, grant.tokenHash), isNull(oneTimeTokens.usedAt)))
    .returning({ tokenHash: oneTimeTokens.tokenHash });
}

/** Finds and uses up a token in one conditional write: the principal id, or null if unknown, used or expired. */
export async function redeemOneTimeToken(
  db: Database,
  purpose: OneTimePurpose,
  principalType: PrincipalType,
  token: string,
): Promise<string | null> {
  const now = new Date();
  const [row] = await db
    .update(oneTimeTokens)
    .set({ usedAt: now })
    .where(
      and(
        eq(oneTimeTokens.tokenHash, await sha256Hex(token)),
        eq(oneTimeTokens.purpose, purpose),
        eq(oneTimeTokens.principalType, principalType),
        isNull(oneTimeTokens.usedAt),
        gt(oneTimeTokens.expiresAt, now),
      ),
    )
    .returning({ principalId: oneTimeTokens.principalId });
  return row?.principalId ?? null;
}
