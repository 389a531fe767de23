/**
 * Storefront routes for a signed-in shopper: a store-audience access token of a customer whose session is still
 * active (so logout and revocation take effect before the token expires). Carts take a guest too
 * (`optionalCustomer`): a token, when one is sent, must still be valid, so a shopper who believes they are
 * signed in is told otherwise instead of silently acting as a guest.
 */
import { and, eq, gt, isNull } from 'drizzle-orm';
import { createMiddleware } from 'hono/factory';
import { sessions } from '../db/schema';
import type { CustomerEnv, ShopperEnv } from '../lib/app-env';
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

/** The customer an `Authorization` header proves, or the 401 that says why not (also for bearer-principal.ts). */
export async function customerPrincipal(
  env: Env,
  authorization: string | undefined,
): Promise<CustomerPrincipal> {
  const token = requireBearer(authorization, 'store', 'Sign in and send the access token as a Bearer token.');
  const claims = await verifyAccessToken(env, token, 'edgecart:store');
  if (claims.typ !== 'customer') throw invalidToken('not a customer token');
  if (!(await isSessionActive(env.DB, claims.sid))) throw invalidToken('session ended');
  return { type: 'customer', id: claims.sub, sessionId: claims.sid, permissions: new Set() };
}

export function requireCustomer() {
  return createMiddleware<CustomerEnv>(async function requireCustomer(c, next) {
    c.set('principal', await customerPrincipal(c.env, c.req.header('Authorization')));
    await next();
  });
}

/** A guest (no `Authorization` header) or a signed-in customer, whose token must then be valid. */
export function optionalCustomer() {
  return createMiddleware<ShopperEnv>(async function optionalCustomer(c, next) {
    const authorization = c.req.header('Authorization');
    if (authorization !== undefined) c.set('principal', await customerPrincipal(c.env, authorization));
    await next();
  });
}
