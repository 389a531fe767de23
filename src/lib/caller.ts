import { createLogger, type Logger } from './logger';
import type { AdminPrincipal } from './permissions';

/**
 * Who and what caused a call, as plain values. Services take a `Caller` instead of the HTTP context, so a route,
 * a queue consumer, a cron job, a Durable Object or a GraphQL resolver can all call the same code.
 */

/**
 * The principal a change is attributed to: a staff member, a secret API key, a customer, the system itself, or
 * nobody yet (a sign-up or sign-in before an account is known; such a service names the actor of its audit entry).
 */
export type Actor = { type: 'staff' | 'secret_key' | 'customer' | 'system' | 'anonymous'; id: string };

/** What the transport knew about the call. Outside a request, the job's run id stands in for the request id. */
export type RequestMeta = {
  requestId: string;
  /** The client's address (`CF-Connecting-IP`), when there was a client. */
  ip: string | null;
  userAgent: string | null;
};

export type Caller = { actor: Actor; meta: RequestMeta };

/** A caller on the admin surface: what it holds decides what it may grant (keys, roles, invitations). */
export type AdminCaller = Caller & { principal: AdminPrincipal };

/**
 * The same call, attributed to someone else: whoever signs up acts as the customer they become, whoever holds an
 * emailed token as the customer it was sent to.
 */
export function actingAs(caller: Caller, actor: Actor): Caller {
  return { ...caller, actor };
}

/** A logger whose lines carry the caller's request (or job run) id. */
export function callerLogger(caller: Caller): Logger {
  return createLogger({ request_id: caller.meta.requestId });
}

/**
 * The caller of work nobody asked for over HTTP: a cron job, a queue consumer, a Durable Object alarm.
 *
 * @example systemCaller('catalog-version-reconcile', runId)
 */
export function systemCaller(job: string, runId: string): Caller {
  return { actor: { type: 'system', id: job }, meta: { requestId: runId, ip: null, userAgent: null } };
}
