/**
 * Idempotency-Key on a write route (semantics in src/lib/idempotency.ts). Runs after the route's credential
 * guard, so the scope names who is calling, and before validation, so it hashes the body as sent. On a first
 * request it claims the key and leaves the claim in `c.var.idempotency` for the handler to pass to its service;
 * afterwards it frees the key unless the service's commit completed it. A replay answers here, with the first
 * status and body and `Idempotent-Replayed: true`; a route whose answer is read after its commit (an order after
 * a staff action) names that read as `replayAs`, its records keep the status only, and a replay answers the
 * first status with the resource as it is now.
 *
 * @example middleware: [requireCustomer(), acceptIdempotencyKey({ scope: (c) => `customer:${c.var.principal.id}` })]
 */
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { RequestVariables } from '../lib/app-env';
import { createDb } from '../lib/db';
import {
  claimIdempotencyKey,
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENT_REPLAYED_HEADER,
  idempotencyKeyOf,
  idempotencyKeyRequired,
  releaseIdempotencyClaim,
  requestFingerprint,
} from '../lib/idempotency';

type IdempotencyEnv = { Bindings: Env; Variables: RequestVariables };

export function acceptIdempotencyKey<E extends IdempotencyEnv>(options: {
  /** Checkout needs one (400 `idempotency_key_required` without); other writes take one if sent. */
  required?: boolean;
  /** Whose keys these are, e.g. `customer:cus_...` or `cart:cart_...`. */
  scope: (c: Context<E>) => string;
  /**
   * The answer of a replay, for a write that answers with a read made after its commit (its service records
   * `idempotencyRecord(claim, status, null)`): the first status, the resource as it is now.
   */
  replayAs?: (c: Context<E>) => Promise<unknown>;
}) {
  return createMiddleware<E>(async function acceptIdempotencyKey(c, next) {
    const key = idempotencyKeyOf(c.req.header(IDEMPOTENCY_KEY_HEADER));
    if (key === undefined) {
      if (options.required) throw idempotencyKeyRequired();
      return next();
    }
    const url = new URL(c.req.url);
    const requestHash = await requestFingerprint(c.req.method, url.pathname + url.search, await c.req.text());
    const db = createDb(c.env.DB);
    const outcome = await claimIdempotencyKey(db, { scope: options.scope(c), key, requestHash });
    if ('replay' in outcome) {
      const { status, body } = outcome.replay;
      const headers: Record<string, string> = { [IDEMPOTENT_REPLAYED_HEADER]: 'true' };
      if (options.replayAs) return c.json(await options.replayAs(c), status as ContentfulStatusCode, headers);
      if (body === '') return c.body(null, status as ContentfulStatusCode, headers);
      return c.body(body, status as ContentfulStatusCode, { ...headers, 'Content-Type': 'application/json' });
    }
    c.set('idempotency', outcome.claimed);
    try {
      await next();
    } finally {
      await releaseIdempotencyClaim(db, outcome.claimed);
    }
  });
}
