/**
 * The short-lived, single-purpose tokens between staff login steps: `mfa_...` (password checked, a second factor
 * is due) and `enroll_...` (password checked, MFA must be set up first). Neither is an access token: each only
 * opens its own next step, expires within minutes and is used up when that step succeeds. Stored as SHA-256 in
 * one_time_tokens, like every other secret a client presents.
 */
import { and, eq, gt, isNull } from 'drizzle-orm';
import { oneTimeTokens } from '../../db/schema';
import { randomToken, sha256Hex } from '../../lib/crypto';
import type { Database } from '../../lib/db';

export type ChallengePurpose = 'staff_mfa' | 'staff_mfa_enrollment';

const SETTINGS: Record<ChallengePurpose, { prefix: string; ttlSeconds: number }> = {
  staff_mfa: { prefix: 'mfa_', ttlSeconds: 5 * 60 },
  staff_mfa_enrollment: { prefix: 'enroll_', ttlSeconds: 15 * 60 },
};

export type Challenge = { staffId: string; tokenHash: string };

export async function issueChallenge(
  db: Database,
  purpose: ChallengePurpose,
  staffId: string,
): Promise<{ token: string; expiresIn: number }> {
  const { prefix, ttlSeconds } = SETTINGS[purpose];
  const token = `${prefix}${randomToken(32)}`;
  await db.insert(oneTimeTokens).values({
    tokenHash: await sha256Hex(token),
    purpose,
    principalType: 'staff',
    principalId: staffId,
    expiresAt: new Date(Date.now() + ttlSeconds * 1000),
  });
  return { token, expiresIn: ttlSeconds };
}

/** The unused, unexpired challenge `token` is for `purpose`, or null. */
export async function findChallenge(
  db: Database,
  purpose: ChallengePurpose,
  token: string,
): Promise<Challenge | null> {
  const tokenHash = await sha256Hex(token);
  const row = await db
    .select({ staffId: oneTimeTokens.principalId })
    .from(oneTimeTokens)
    .where(
      and(
        eq(oneTimeTokens.tokenHash, tokenHash),
        eq(oneTimeTokens.purpose, purpose),
        eq(oneTimeTokens.principalType, 'staff'),
        isNull(oneTimeTokens.usedAt),
        gt(oneTimeTokens.expiresAt, new Date()),
      ),
    )
    .get();
  return row ? { staffId: row.staffId, tokenHash } : null;
}

/** The conditional write that uses a challenge up; batch it with the step it completes. */
export function consumeChallenge(db: Database, challenge: Challenge) {
  return db
    .update(oneTimeTokens)
    .set({ usedAt: new Date() })
    .where(and(eq(oneTimeTokens.tokenHash, challenge.tokenHash), isNull(oneTimeTokens.usedAt)))
    .returning({ tokenHash: oneTimeTokens.tokenHash });
}
