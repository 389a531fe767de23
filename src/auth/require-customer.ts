/**
 * Storefront routes for a signed-in shopper: a store-audience access token of a customer whose session is still
 * active (so logout and revocation take effect before the token expires).
 */
import { and, eq, gt, isNull } from 'drizzle-orm';
import { createMiddleware } from 'hono/factory';
import { sessions } from '../db/schema';
import type { CustomerEnv } from '../lib/app-env';
import { createDb } from '../lib/db';
import { invalidToken, verifyAccessToken } from '../lib/jwt';
import { requireBearer } from './bearer';

/** Whether the customer session is neither revoked nor expired (also checked by bearer-principal.ts). */
export async function isSessionActive(d1: D1Database, sessionId: string): Promise<boolean> {
  const row = await createDb(d1)
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt), gt(sessions.expiresAt, new Date())))
    .get();
  return row !== undefined;
}

export function requireCustomer() {
  return createMiddleware<CustomerEnv>(async function requireCustomer(c, next) {
    const token = requireBearer(
      c.req.header('Authorization'),
      'store',
      'Sign in and send the access token as a Bearer token.',
    );
    const claims = await verifyAccessToken(c.env, token, 'edgecart:store');
    if (claims.typ !== 'customer') throw invalidToken('not a customer token');
    if (!(await isSessionActive(c.env.DB, claims.sid))) throw invalidToken('session ended');
    c.set('principal', { type: 'customer', id: claims.sub, sessionId: claims.sid, permissions: new Set() });
    await next();
  });
}
