/**
 * `Cache-Control: no-store` on every response of the routes it guards: a response that carries a token or a
 * secret (access and refresh tokens, MFA secrets and recovery codes, a new API key) must never be kept by a
 * browser, a proxy or a shared cache (RFC 9111 §5.2.2.5). Applied once per router, so a route added there later
 * is covered without remembering to.
 */
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../lib/app-env';
import { addResponseHeaders } from '../lib/response-headers';

export function noStore() {
  return createMiddleware<AppEnv>(async function noStore(c, next) {
    await next();
    addResponseHeaders(c, [['Cache-Control', 'no-store']]);
  });
}
