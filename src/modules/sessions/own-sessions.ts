/**
 * "Signed-in devices" for any principal: list your active sessions, end one. Mounted for customers
 * (/v1/store/customers/me/sessions) and staff (/v1/auth/staff/sessions); a session of someone else is a 404.
 */
import { and, eq } from 'drizzle-orm';
import { type PrincipalType, sessions } from '../../db/schema';
import type { Database } from '../../lib/db';
import { notFound } from '../../lib/errors';
import { serializeSession } from './schemas';
import { listSessions, revokeSession } from './service';

export async function listOwnSessions(
  db: Database,
  type: PrincipalType,
  id: string,
  currentSessionId?: string,
) {
  return { data: (await listSessions(db, type, id)).map((s) => serializeSession(s, currentSessionId)) };
}

export async function revokeOwnSession(db: Database, type: PrincipalType, id: string, sessionId: string) {
  const owned = await db
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(eq(sessions.id, sessionId), eq(sessions.principalType, type), eq(sessions.principalId, id)))
    .get();
  if (!owned) throw notFound('Session');
  await revokeSession(db, sessionId, 'revoked');
}
