/**
 * The HTTP side of `Caller` (src/lib/caller.ts): handlers turn the request into plain values once, here, and
 * pass those to services, which never see the Hono context.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../env';
import type { Caller, RequestMeta } from '../lib/caller';

export function requestMeta(c: Context<AppEnv>): RequestMeta {
  return {
    requestId: c.get('requestId'),
    ip: c.req.header('CF-Connecting-IP') ?? null,
    userAgent: c.req.header('User-Agent') ?? null,
  };
}

/** The authenticated principal of the request as the actor; anonymous when no guard set one. */
export function callerOf(c: Context<AppEnv>): Caller {
  const principal: AppEnv['Variables']['principal'] | undefined = c.get('principal');
  return {
    actor: principal ? { type: principal.type, id: principal.id } : { type: 'anonymous', id: 'anonymous' },
    meta: requestMeta(c),
  };
}
