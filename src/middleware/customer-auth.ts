/**
 * Storefront routes for a signed-in shopper: a store-audience access token of a customer whose session is still
 * active (so logout and revocation take effect before the token expires).
 */
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env';
import { createDb } from '../lib/db';
import { AppError } from '../lib/errors';
import { invalidToken, verifyAccessToken } from '../lib/jwt';
import { isSessionActive } from '../modules/sessions/service';

export function bearerToken(header: string | undefined): string | undefined {
  return header?.startsWith('Bearer ') ? header.slice(7).trim() || undefined : undefined;
}

export function requireCustomer() {
  return createMiddleware<AppEnv>(async function requireCustomer(c, next) {
    const token = bearerToken(c.req.header('Authorization'));
    if (!token) {
      throw new AppError(401, 'unauthenticated', 'Sign in and send the access token as a Bearer token.', {
        headers: { 'WWW-Authenticate': 'Bearer realm="edgecart"' },
      });
    }
    const claims = await verifyAccessToken(c.env, token, 'edgecart:store');
    if (claims.typ !== 'customer') throw invalidToken('not a customer token');
    if (!(await isSessionActive(createDb(c.env.DB), claims.sid))) throw invalidToken('session ended');
    c.set('principal', { type: 'customer', id: claims.sub, sessionId: claims.sid, permissions: new Set() });
    await next();
  });
}
