/**
 * Storefront routes accept an optional `X-Publishable-Api-Key: pk_...` naming the storefront. An unknown or
 * revoked key is refused (401) rather than ignored, so a misconfigured storefront fails loudly instead of
 * silently selling in the wrong region. Runs before geo, which uses the key's default region.
 */
import { createMiddleware } from 'hono/factory';
import type { StoreEnv } from '../lib/app-env';
import { AppError } from '../lib/errors';
import { resolvePublishableKey } from './publishable-key';
import { touchApiKey } from './secret-key';

export const PUBLISHABLE_KEY_HEADER = 'X-Publishable-Api-Key';

export function publishableKey() {
  return createMiddleware<StoreEnv>(async function publishableKey(c, next) {
    const presented = c.req.header(PUBLISHABLE_KEY_HEADER);
    if (presented !== undefined) {
      const key = await resolvePublishableKey(c.env.DB, presented.trim(), (id) =>
        c.executionCtx.waitUntil(touchApiKey(c.env.DB, id)),
      );
      if (!key) {
        throw new AppError(401, 'invalid_publishable_key', 'The publishable API key is not valid.');
      }
      c.set('publishableKey', key);
    }
    await next();
  });
}
