/**
 * Guards /v1/admin: the caller is a staff member (an access token for `edgecart:admin` whose session and
 * account are still active) or a server holding a secret API key (`Authorization: Bearer sk_...`). Either way
 * the principal carries exactly the permissions it was granted; each route's `requirePermission` decides.
 */
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env';
import { AppError } from '../lib/errors';
import { touchApiKey, verifySecretKey } from '../modules/api-keys/secret-key';

const REALM = 'Bearer realm="edgecart-admin"';

function bearerOf(header: string | undefined): string | undefined {
  return header?.startsWith('Bearer ') ? header.slice(7).trim() || undefined : undefined;
}

export function requireAdmin() {
  return createMiddleware<AppEnv>(async function requireAdmin(c, next) {
    const token = bearerOf(c.req.header('Authorization'));
    if (!token) {
      throw new AppError(
        401,
        'unauthenticated',
        'Send a staff access token or a secret API key as `Authorization: Bearer ...`.',
        { headers: { 'WWW-Authenticate': REALM } },
      );
    }
    const key = await verifySecretKey(c.env.DB, token);
    if (!key) {
      throw new AppError(401, 'invalid_credentials', 'The API key is not valid.', {
        headers: { 'WWW-Authenticate': `${REALM}, error="invalid_token"` },
      });
    }
    c.set('principal', { type: 'secret_key', id: key.id, permissions: key.permissions });
    c.executionCtx.waitUntil(touchApiKey(c.env.DB, key.id));
    await next();
  });
}
