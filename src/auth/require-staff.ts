import { createMiddleware } from 'hono/factory';
import type { StaffEnv } from '../lib/app-env';
import { requireBearer } from './bearer';
import { staffPrincipal } from './staff-principal';

/** Routes about the signed-in staff member themself (no permission needed): a valid staff access token. */
export function requireStaff() {
  return createMiddleware<StaffEnv>(async function requireStaff(c, next) {
    const token = requireBearer(
      c.req.header('Authorization'),
      'admin',
      'Send a staff access token as a Bearer token.',
    );
    c.set('principal', await staffPrincipal(c.env, token));
    await next();
  });
}
