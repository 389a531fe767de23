/**
 * First in the chain: gives every request an id of our own, a W3C trace context, a logger bound to both, a metered
 * D1 binding, the publisher its commits send their events with, a Server-Timing header, and exactly one structured
 * log line when it completes. Both carry what the request cost in D1 (round trips, rows read and written;
 * src/lib/d1-meter.ts): the request's `env.DB` counts every statement, batch and session, so nothing else has to.
 * The id is always generated here: it is what the audit log, the outbox, problem bodies and `X-Request-Id` carry,
 * and a client must not be able to choose it (forging another request's id in the audit log, or colliding with
 * it). A valid incoming X-Request-Id is only logged, as `client_request_id` on the lines of the request's logger
 * (the request line among them), so a client's trace can still be joined to ours; an incoming `traceparent` is
 * continued (it names a trace, not our record of the request).
 */

import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../lib/app-env';
import { costFields, D1Meter, meteredDatabase } from '../lib/d1-meter';
import { createLogger, type Logger } from '../lib/logger';
import { type EventPublisher, queuePublisher } from '../lib/outbox';
import { addResponseHeaders } from '../lib/response-headers';
import { requestTraceparent, traceIdOf } from '../lib/trace-context';

const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** Sign-in, registration, reset and token refresh: their responses must not reveal what D1 read. */
const CREDENTIAL_PATHS = '/v1/auth/';

export function requestContext() {
  return createMiddleware<AppEnv>(async function requestContext(c, next) {
    const started = performance.now();
    const incoming = c.req.header('X-Request-Id');
    const requestId = crypto.randomUUID();
    const traceparent = requestTraceparent(c.req.header('traceparent'), requestId);
    const logger = createLogger({
      request_id: requestId,
      trace_id: traceIdOf(traceparent),
      client_request_id: incoming && VALID_REQUEST_ID.test(incoming) ? incoming : undefined,
    });
    c.set('requestId', requestId);
    c.set('traceparent', traceparent);
    c.set('logger', logger);
    c.set('timings', new Map());
    const meter = new D1Meter();
    c.env = { ...c.env, DB: meteredDatabase(c.env.DB, meter) };
    const publisher = eventPublisher(c, logger);
    if (publisher) c.set('publisher', publisher);

    await next();

    // performance.now() only advances across I/O in Workers, which is exactly the time worth reporting.
    const total = performance.now() - started;
    const cache = c.get('cacheStatus');
    const cost = costFields(meter);
    // Concatenated rather than mapped and joined: this runs for every request, cache hits included.
    let serverTiming = '';
    for (const [name, ms] of c.get('timings')) serverTiming += `${name};dur=${ms.toFixed(1)}, `;
    if (cache) serverTiming += `cache;desc="${cache}", `;
    // Not on the sign-in surface: rows read differ between an account that exists and one that does not, and
    // those answers must be identical (account enumeration). The log line still carries the cost.
    if (!c.req.path.startsWith(CREDENTIAL_PATHS)) {
      for (const name in cost) serverTiming += `${name};desc=${cost[name]}, `;
    }
    serverTiming += `total;dur=${total.toFixed(1)}`;
    addResponseHeaders(c, [
      ['X-Request-Id', requestId],
      ['Server-Timing', serverTiming],
    ]);
    logger.info('request', {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      duration_ms: Math.round(total * 10) / 10,
      cache,
      region: c.get('store')?.region.code,
      country: c.req.raw.cf?.country as string | undefined,
      ...cost,
    });
  });
}

/**
 * The request's event publisher: a commit's events leave in `waitUntil`, after the response. `app.request()` in
 * tests and scripts has no execution context; its events wait in the outbox for the sweep.
 */
function eventPublisher(c: Context<AppEnv>, logger: Logger): EventPublisher | undefined {
  let waitUntil: ExecutionContext['waitUntil'];
  try {
    const ctx = c.executionCtx;
    waitUntil = ctx.waitUntil.bind(ctx);
  } catch {
    return undefined;
  }
  return queuePublisher(c.env, waitUntil, logger);
}

/** Runs `work`, recording its duration under `name` for Server-Timing. */
export async function timed<T>(
  timings: Map<string, number>,
  name: string,
  work: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    timings.set(name, (timings.get(name) ?? 0) + performance.now() - started);
  }
}
