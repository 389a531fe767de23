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

/**
 * `Cache-Control: no-store` on every answer whose route or middleware said nothing about caching. On the
 * storefront an answer depends on the shopper's country, key and language, which no shared cache keys on: the
 * cached catalog says `private, no-cache`, and an answer that says nothing (an error such as a 404 for a product not
 * sold in the shopper's region, or a catalog read that bypassed the cache) could otherwise be kept by a shared cache,
 * which RFC 9111 §4.2.2 allows for a 404 by heuristics, and handed to another shopper. The live routes' refusals
 * depend on a product's status in the same way: a 404 for a product not on sale yet must not outlive its launch.
 */
export function noStoreUnlessStated() {
  return createMiddleware<AppEnv>(async function noStoreUnlessStated(c, next) {
    await next();
    if (!c.res.headers.has('Cache-Control')) addResponseHeaders(c, [['Cache-Control', 'no-store']]);
  });
}
