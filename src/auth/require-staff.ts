import { createMiddleware } from 'hono/factory';
import type { StaffEnv } from '../lib/app-env';
import { AppError } from '../lib/errors';
import { bearerToken } from './bearer';
import { staffPrincipal } from './staff-principal';

/** Routes about the signed-in staff member themself (no permission needed): a valid staff access token. */
export function requireStaff() {
  return createMiddleware<StaffEnv>(async function requireStaff(c, next) {
    const token = bearerToken(c.req.header('Authorization'));
    if (!token) {
      throw new AppError(401, 'unauthenticated', 'Send a staff access token as a Bearer token.', {
        headers: { 'WWW-Authenticate': 'Bearer realm="edgecart-admin"' },
      });
    }
    c.set('principal', await staffPrincipal(c.env, token));
    await next();
  });
}
