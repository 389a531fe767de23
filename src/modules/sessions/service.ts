/**
 * Sessions are refresh-token families. Every refresh consumes the presented token and issues a new one; a
 * consumed token presented again means it was stolen (or replayed), so the whole family is revoked and both the
 * thief and the owner must sign in again (OAuth 2.0 Security BCP, refresh token rotation).
 * Only SHA-256 of refresh tokens is stored.
 */
import { and, desc, eq, gt, isNull, notInArray, type SQL, sql } from 'drizzle-orm';
import { type PrincipalType, refreshTokens, sessions } from '../../db/schema';
import { randomToken, sha256Hex } from '../../lib/crypto';
import { insertRowIf } from '../../lib/d1-writes';
import type { Database } from '../../lib/db';
import { AppError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { cutToLength } from '../../lib/unicode-text';

export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;
/**
 * Active sessions one principal may hold: a new sign-in ends the least recently used beyond this (`evicted`), so
 * "signed-in devices" and the data export stay small however often someone signs in.
 */
export const MAX_ACTIVE_SESSIONS = 50;

type RevokedReason = NonNullable<(typeof sessions.$inferSelect)['revokedReason']>;
export type SessionRow = typeof sessions.$inferSelect;

const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="edgecart", error="invalid_token"' };

const invalidGrant = (detail: string) =>
  new AppError(401, 'invalid_refresh_token', detail, { headers: CHALLENGE });

const reused = () =>
  new AppError(401, 'refresh_token_reused', 'The refresh token was already used; the session is revoked.', {
    headers: CHALLENGE,
  });

function newRefreshToken() {
  return `rt_${randomToken(32)}`;
}

export type RefreshTokenOwner = { sessionId: string; principalType: PrincipalType; principalId: string };

/**
 * Whose session a refresh token belongs to, without consuming it: so a surface can refuse another principal
 * type's token untouched, and rate-limit per account before the rotation.
 */
export async function refreshTokenOwner(
  db: Database,
  presented: string,
): Promise<RefreshTokenOwner | undefined> {
  return db
    .select({
      sessionId: sessions.id,
      principalType: sessions.principalType,
      principalId: sessions.principalId,
    })
    .from(refreshTokens)
    .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
    .where(eq(refreshTokens.tokenHash, await sha256Hex(presented)))
    .get();
}

function activeSessionsOf(principalType: PrincipalType, principalId: string, now: Date) {
  return and(
    eq(sessions.principalType, principalType),
    eq(sessions.principalId, principalId),
    isNull(sessions.revokedAt),
    gt(sessions.expiresAt, now),
  );
}

/** Ends the principal's active sessions beyond the MAX_ACTIVE_SESSIONS most recently used. */
function evictBeyondLimit(db: Database, principalType: PrincipalType, principalId: string, now: Date) {
  const active = activeSessionsOf(principalType, principalId, now);
  const kept = db
    .select({ id: sessions.id })
    .from(sessions)
    .where(active)
    .orderBy(desc(sessions.lastUsedAt), desc(sessions.id))
    .limit(MAX_ACTIVE_SESSIONS);
  return db
    .update(sessions)
    .set({ revokedAt: now, revokedReason: 'evicted' })
    .where(and(active, notInArray(sessions.id, kept)));
}

export type NewSession = { sessionId: string; refreshToken: string; refreshExpiresAt: Date };
type SessionOwner = { principalType: PrincipalType; principalId: string; userAgent?: string | null };

export async function startSession(db: Database, input: SessionOwner): Promise<NewSession> {
  const session = await startSessionWhile(db, input, sql`1`);
  if (!session) throw new Error('an unconditional session insert wrote nothing');
  return session;
}

/**
 * Starts a session only if `condition` still holds when its batch runs (a sign-in's credential still being the
 * one it verified: a change that ends every session may commit between the check and this write, and would miss
 * a session written after it); null when it does not, and nothing is written.
 */
export async function startSessionWhile(
  db: Database,
  input: SessionOwner,
  condition: SQL,
): Promise<NewSession | null> {
  const now = Date.now();
  const sessionId = newId('ses');
  const refreshToken = newRefreshToken();
  const expiresAt = new Date(now + SESSION_TTL_MS);
  const [started] = await db.batch([
    insertRowIf(
      db,
      sessions,
      {
        id: sessionId,
        principalType: input.principalType,
        principalId: input.principalId,
        userAgent: input.userAgent ? cutToLength(input.userAgent, 256) : null,
        lastUsedAt: new Date(now),
        expiresAt,
      },
      condition,
    ).returning({ id: sessions.id }),
    // `changes()`: the session's insert, so a refused session gets no token either.
    insertRowIf(
      db,
      refreshTokens,
      { tokenHash: await sha256Hex(refreshToken), sessionId, expiresAt },
      sql`changes() > 0`,
    ),
    evictBeyondLimit(db, input.principalType, input.principalId, new Date(now)),
  ]);
  if (started.length === 0) return null;
  return { sessionId, refreshToken, refreshExpiresAt: expiresAt };
}

/**
 * Consumes `presented` and returns its session with a fresh refresh token; a replay revokes the family.
 * With `principalType`, a token of another kind of principal is refused before anything is consumed.
 */
export async function rotateRefreshToken(
  db: Database,
  presented: string,
  principalType?: PrincipalType,
): Promise<{ session: SessionRow; refreshToken: string }> {
  const tokenHash = await sha256Hex(presented);
  const found = await db
    .select({ token: refreshTokens, session: sessions })
    .from(refreshTokens)
    .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
    .where(eq(refreshTokens.tokenHash, tokenHash))
    .get();
  if (!found || (principalType && found.session.principalType !== principalType)) {
    throw invalidGrant('The refresh token is not valid.');
  }
  const { token, session } = found;
  const now = new Date();
  if (session.revokedAt) throw invalidGrant('The session has ended; sign in again.');
  if (token.usedAt) {
    await revokeSession(db, session.id, 'reuse_detected');
    throw reused();
  }
  if (token.expiresAt <= now || session.expiresAt <= now) throw invalidGrant('The session has expired.');

  // Claim the token with a conditional update: of two concurrent refreshes, exactly one wins.
  const claimed = await db
    .update(refreshTokens)
    .set({ usedAt: now })
    .where(and(eq(refreshTokens.tokenHash, tokenHash), isNull(refreshTokens.usedAt)))
    .returning({ tokenHash: refreshTokens.tokenHash });
  if (claimed.length === 0) {
    await revokeSession(db, session.id, 'reuse_detected');
    throw reused();
  }
  const refreshToken = newRefreshToken();
  await db.batch([
    db.insert(refreshTokens).values({
      tokenHash: await sha256Hex(refreshToken),
      sessionId: session.id,
      expiresAt: session.expiresAt,
    }),
    db.update(sessions).set({ lastUsedAt: now }).where(eq(sessions.id, session.id)),
  ]);
  return { session: { ...session, lastUsedAt: now }, refreshToken };
}

export async function revokeSession(db: Database, sessionId: string, reason: RevokedReason): Promise<void> {
  await db
    .update(sessions)
    .set({ revokedAt: new Date(), revokedReason: reason })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
}

/** The statement that ends every session of a principal, for a `db.batch` with the change that requires it. */
export function revokeAllSessionsStatement(
  db: Database,
  principalType: PrincipalType,
  principalId: string,
  reason: RevokedReason,
) {
  return db
    .update(sessions)
    .set({ revokedAt: new Date(), revokedReason: reason })
    .where(
      and(
        eq(sessions.principalType, principalType),
        eq(sessions.principalId, principalId),
        isNull(sessions.revokedAt),
      ),
    );
}

export async function revokeAllSessions(
  db: Database,
  principalType: PrincipalType,
  principalId: string,
  reason: RevokedReason,
): Promise<void> {
  await revokeAllSessionsStatement(db, principalType, principalId, reason);
}

/**
 * The principal's sessions that can still be used, newest activity first; never more than MAX_ACTIVE_SESSIONS
 * (concurrent sign-ins may briefly leave a few more active until the next one evicts them).
 */
export function listSessions(
  db: Database,
  principalType: PrincipalType,
  principalId: string,
): Promise<SessionRow[]> {
  return db
    .select()
    .from(sessions)
    .where(activeSessionsOf(principalType, principalId, new Date()))
    .orderBy(desc(sessions.lastUsedAt), desc(sessions.id))
    .limit(MAX_ACTIVE_SESSIONS)
    .all();
}
