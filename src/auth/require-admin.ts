/**
 * Guards /v1/admin: the caller is a staff member (an access token for `edgecart:admin` whose session and
 * account are still active) or a server holding a secret API key (`Authorization: Bearer sk_...`). Either way
 * the principal carries exactly the permissions it was granted; each route's `requirePermission` decides.
 */
import { createMiddleware } from 'hono/factory';
import type { AdminEnv } from '../lib/app-env';
import { requireBearer } from './bearer';
import { invalidApiKey, touchApiKey, verifySecretKey } from './secret-key';
import { staffPrincipal } from './staff-principal';

export function requireAdmin() {
  return createMiddleware<AdminEnv>(async function requireAdmin(c, next) {
    const token = requireBearer(
      c.req.header('Authorization'),
      'admin',
      'Send a staff access token or a secret API key as `Authorization: Bearer ...`.',
    );
    // Key formats are fixed prefixes; anything else can only be a staff access token (a JWT).
    if (!token.startsWith('sk_') && !token.startsWith('pk_')) {
      c.set('principal', await staffPrincipal(c.env, token));
      return next();
    }
    const key = await verifySecretKey(c.env.DB, token);
    if (!key) throw invalidApiKey();
    c.set('principal', { type: 'secret_key', id: key.id, permissions: key.permissions });
    c.executionCtx.waitUntil(touchApiKey(c.env.DB, key.id));
    await next();
  });
}
