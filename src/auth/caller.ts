/**
 * The HTTP side of `Caller` (src/lib/caller.ts): handlers turn the request into plain values once, here, and
 * pass those to services, which never see the Hono context.
 */
import type { HonoRequest } from 'hono';
import type { RequestVariables } from '../lib/app-env';
import type { AdminCaller, Caller, RequestMeta } from '../lib/caller';
import type { AdminPrincipal, Principal } from '../lib/permissions';

/** The parts of any surface's Hono context a caller is built from. */
type RequestParts<V = RequestVariables> = { req: HonoRequest; var: Readonly<V> };

export function requestMeta(c: RequestParts): RequestMeta {
  return {
    requestId: c.var.requestId,
    ip: c.req.header('CF-Connecting-IP') ?? null,
    userAgent: c.req.header('User-Agent') ?? null,
    traceparent: c.var.traceparent,
  };
}

/** The request as the caller of a service: who, the transport's facts, and its event publisher. */
function requestCaller(c: RequestParts, actor: Caller['actor']): Caller {
  const { publisher } = c.var;
  return { actor, meta: requestMeta(c), ...(publisher && { publisher }) };
}

/** A request on a guarded surface: its principal is the actor. */
export function callerOf(c: RequestParts<RequestVariables & { principal: Principal }>): Caller {
  return requestCaller(c, { type: c.var.principal.type, id: c.var.principal.id });
}

/** A request on the admin surface: the actor plus the permissions and role it acts with. */
export function adminCallerOf(
  c: RequestParts<RequestVariables & { principal: AdminPrincipal }>,
): AdminCaller {
  return { ...callerOf(c), principal: c.var.principal };
}

/** A storefront request that a guest or a signed-in customer may make (carts). */
export function shopperCallerOf(c: RequestParts<RequestVariables & { principal?: Principal }>): Caller {
  const principal = c.var.principal;
  return principal
    ? { actor: { type: principal.type, id: principal.id }, meta: requestMeta(c) }
    : anonymousCaller(c);
}

/** A request nobody has signed in for yet (registration, sign-in, password reset). */
export function anonymousCaller(c: RequestParts): Caller {
  return requestCaller(c, { type: 'anonymous', id: 'anonymous' });
}
