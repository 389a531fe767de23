/**
 * Transport-level guards: security headers, CORS from the configured allowlist, a body size limit (413) and
 * JSON-only request bodies (415). All refusals are problem+json, and happen before any handler runs.
 */
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../lib/app-env';
import { BOOKMARK_HEADER } from '../lib/d1-session';
import { AppError } from '../lib/errors';
import { addResponseHeaders, isWebSocketUpgrade } from '../lib/response-headers';

const CONTENT_SECURITY_POLICY = [
  // The API serves JSON; only /docs renders HTML, from our own origin.
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: https:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** What Hono's secureHeaders() sets by default (plus our CSP and a cross-origin CORP), as one fixed list. */
const SECURITY_HEADERS: [string, string][] = [
  ['Content-Security-Policy', CONTENT_SECURITY_POLICY],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Cross-Origin-Resource-Policy', 'cross-origin'],
  ['Origin-Agent-Cluster', '?1'],
  ['Referrer-Policy', 'no-referrer'],
  ['Strict-Transport-Security', 'max-age=15552000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-DNS-Prefetch-Control', 'off'],
  ['X-Download-Options', 'noopen'],
  ['X-Frame-Options', 'SAMEORIGIN'],
  ['X-Permitted-Cross-Domain-Policies', 'none'],
  ['X-XSS-Protection', '0'],
];

/**
 * Security headers on every response. Written through addResponseHeaders rather than Hono's secureHeaders(),
 * which sets them on `c.res` unconditionally and so throws on a WebSocket upgrade (immutable headers).
 */
export function securityHeaders() {
  return createMiddleware<AppEnv>(async function securityHeaders(c, next) {
    await next();
    addResponseHeaders(c, SECURITY_HEADERS);
  });
}

let allowlist: { source: string; origins: Set<string> } | undefined;

/** The configured origins, parsed once per isolate (and again only if the setting changes). */
function allowedOrigins(source: string): Set<string> {
  if (allowlist?.source !== source) {
    allowlist = {
      source,
      origins: new Set(
        source
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean),
      ),
    };
  }
  return allowlist.origins;
}

const CORS_EXPOSE_HEADERS = [
  'ETag',
  'X-Request-Id',
  'X-Cache',
  'Server-Timing',
  'Retry-After',
  'Location',
  'Idempotent-Replayed',
  BOOKMARK_HEADER,
].join(',');

type HeaderWrite = Parameters<typeof addResponseHeaders>[1][number];
const VARY_ORIGIN: HeaderWrite[] = [['Vary', 'Origin', 'append']];
const EXPOSE_AND_VARY: HeaderWrite[] = [
  ['Access-Control-Expose-Headers', CORS_EXPOSE_HEADERS],
  ...VARY_ORIGIN,
];

export function corsFromAllowlist() {
  const isAllowed = (origin: string, env: Env) => allowedOrigins(env.CORS_ORIGINS).has(origin);
  // Preflights: Hono's CORS middleware answers them whole.
  const preflight = cors({
    origin: (origin, c) => (isAllowed(origin, c.env as Env) ? origin : null),
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    allowHeaders: [
      'Authorization',
      'Content-Type',
      'Idempotency-Key',
      'If-None-Match',
      'X-Request-Id',
      'Accept-Language',
      'X-Publishable-Api-Key',
      'X-Order-Token',
      'X-Cart-Token',
      BOOKMARK_HEADER,
    ],
    exposeHeaders: CORS_EXPOSE_HEADERS.split(','),
    maxAge: 600,
  });
  return createMiddleware<AppEnv>(async function corsFromAllowlist(c, next) {
    const origin = c.req.header('Origin');
    // CORS does not govern WebSocket handshakes (browsers send Origin but check no CORS header), and Hono's
    // cors() writes to the response before the handler runs, which would make Hono copy the 101 response.
    if (origin !== undefined && c.req.method === 'OPTIONS' && !isWebSocketUpgrade(c))
      return preflight(c, next);
    await next();
    // Every other request gets its CORS headers on the finished response, in place: written before the handler
    // (as Hono's middleware does) they make Hono copy the whole response when the handler sets its own.
    // Without an Origin there is nothing to grant; the answer still varies by Origin for caches.
    if (origin === undefined) return addResponseHeaders(c, VARY_ORIGIN);
    addResponseHeaders(
      c,
      isAllowed(origin, c.env)
        ? [['Access-Control-Allow-Origin', origin], ...EXPOSE_AND_VARY]
        : EXPOSE_AND_VARY,
    );
  });
}

export function limitBody() {
  return createMiddleware<AppEnv>(async function limitBody(c, next) {
    // Requests without a body (every storefront read) skip building the limiter.
    if (!METHODS_WITH_BODY.has(c.req.method)) return next();
    return bodyLimit({
      maxSize: Number(c.env.MAX_BODY_BYTES),
      onError: () => {
        throw new AppError(
          413,
          'payload_too_large',
          `The request body exceeds ${c.env.MAX_BODY_BYTES} bytes.`,
        );
      },
    })(c, next);
  });
}

/**
 * The methods whose body the guards above and below check (413, 415). DELETE is one: a route may take a body on it
 * (erasing an account takes the password), and a body on any route is bounded and must be JSON.
 */
export const METHODS_WITH_BODY: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The refusal of a body that is not JSON, whichever check finds it (this one, or the route's validator). */
export const notJsonBody = () =>
  new AppError(415, 'unsupported_media_type', 'Send the request body as application/json.');

/** A body that is present must be JSON: anything else would be silently ignored by the validators. */
export function requireJsonBody() {
  return createMiddleware<AppEnv>(async function requireJsonBody(c, next) {
    if (METHODS_WITH_BODY.has(c.req.method)) {
      const hasBody = c.req.header('Content-Length') !== '0' && c.req.raw.body !== null;
      const type = c.req.header('Content-Type')?.split(';')[0]?.trim().toLowerCase();
      if (hasBody && type !== 'application/json') throw notJsonBody();
    }
    await next();
  });
}
