import { createLogger, type Logger } from './logger';
import type { EventPublisher } from './outbox';
import type { AdminPrincipal } from './permissions';
import { traceIdOf } from './trace-context';

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
  /** W3C trace context of the call (src/lib/trace-context.ts): the events it raises carry it on. */
  traceparent: string | null;
};

/**
 * `publisher`, when the call has one, sends the events of each commit to the queue after the response (a request's
 * `waitUntil`); without it, they wait in the outbox for the sweep (src/jobs/outbox-sweep.ts). It is the one port a
 * caller carries, so every service publishes its events without knowing about queues or requests.
 */
export type Caller = { actor: Actor; meta: RequestMeta; publisher?: EventPublisher };

/** A caller on the admin surface: what it holds decides what it may grant (keys, roles, invitations). */
export type AdminCaller = Caller & { principal: AdminPrincipal };

/**
 * The same call, attributed to someone else: whoever signs up acts as the customer they become, whoever holds an
 * emailed token as the customer it was sent to.
 */
export function actingAs(caller: Caller, actor: Actor): Caller {
  return { ...caller, actor };
}

/** A logger whose lines carry the caller's request (or job run) id and trace id. */
export function callerLogger(caller: Caller): Logger {
  return createLogger({ request_id: caller.meta.requestId, trace_id: traceIdOf(caller.meta.traceparent) });
}

/**
 * The caller of work nobody asked for over HTTP: a cron job, a queue consumer, a Durable Object alarm. A consumer
 * passes the trace of the event it handles, so what it writes stays in the trace of the request that began it.
 *
 * @example systemCaller('catalog-version-reconcile', runId)
 */
export function systemCaller(job: string, runId: string, traceparent: string | null = null): Caller {
  return {
    actor: { type: 'system', id: job },
    meta: { requestId: runId, ip: null, userAgent: null, traceparent },
  };
}
