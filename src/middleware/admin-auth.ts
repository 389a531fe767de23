/**
 * Guards /v1/admin: a valid, unrevoked secret API key (`Authorization: Bearer sk_...`) is required.
 * The identity work extends this to staff JWTs and per-route permissions on the same routes.
 */
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env';
import { AppError } from '../lib/errors';
import { PERMISSIONS } from '../lib/permissions';
import { touchSecretKey, verifySecretKey } from '../modules/api-keys/secret-key';

const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="edgecart-admin"' };

export function requireSecretKey() {
  return createMiddleware<AppEnv>(async function requireSecretKey(c, next) {
    const header = c.req.header('Authorization');
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    if (!token) {
      throw new AppError(401, 'unauthenticated', 'Send a secret API key as `Authorization: Bearer sk_...`.', {
        headers: CHALLENGE,
      });
    }
    const keyId = await verifySecretKey(c.env.DB, token);
    if (!keyId) {
      throw new AppError(401, 'invalid_credentials', 'The API key is not valid.', {
        headers: { 'WWW-Authenticate': 'Bearer realm="edgecart-admin", error="invalid_token"' },
      });
    }
    // Until keys are scoped (identity work), a secret key holds every permission.
    c.set('principal', { type: 'secret_key', id: keyId, permissions: new Set(PERMISSIONS) });
    c.executionCtx.waitUntil(touchSecretKey(c.env.DB, keyId));
    await next();
  });
}
