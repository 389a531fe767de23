/**
 * Storefront routes for a signed-in shopper: a store-audience access token of a customer whose session is still
 * active (so logout and revocation take effect before the token expires). `optionalCustomer` is for routes a
 * guest may call too (an order read with its order token): it checks a token only when one is sent.
 */
import { and, eq, gt, isNull } from 'drizzle-orm';
import { createMiddleware } from 'hono/factory';
import { sessions } from '../db/schema';
import type { CustomerEnv, MaybeCustomerEnv } from '../lib/app-env';
import { createDb } from '../lib/db';
import { invalidToken, verifyAccessToken } from '../lib/jwt';
import type { CustomerPrincipal } from '../lib/permissions';
import { requireBearer } from './bearer';

async function isSessionActive(d1: D1Database, sessionId: string): Promise<boolean> {
  const row = await createDb(d1)
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt), gt(sessions.expiresAt, new Date())))
    .get();
  return row !== undefined;
}

/** The customer an Authorization header names, or the 401 a guard answers. */
async function authenticateCustomer(env: Env, authorization: string | undefined): Promise<CustomerPrincipal> {
  const token = requireBearer(authorization, 'store', 'Sign in and send the access token as a Bearer token.');
  const claims = await verifyAccessToken(env, token, 'edgecart:store');
  if (claims.typ !== 'customer') throw invalidToken('not a customer token');
  if (!(await isSessionActive(env.DB, claims.sid))) throw invalidToken('session ended');
  return { type: 'customer', id: claims.sub, sessionId: claims.sid, permissions: new Set() };
}

export function requireCustomer() {
  return createMiddleware<CustomerEnv>(async function requireCustomer(c, next) {
    c.set('principal', await authenticateCustomer(c.env, c.req.header('Authorization')));
    await next();
  });
}

/** Like requireCustomer when an Authorization header is sent (a bad token is still a 401); nothing without one. */
export function optionalCustomer() {
  return createMiddleware<MaybeCustomerEnv>(async function optionalCustomer(c, next) {
    const authorization = c.req.header('Authorization');
    if (authorization !== undefined) c.set('principal', await authenticateCustomer(c.env, authorization));
    await next();
  });
}
