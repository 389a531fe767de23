/**
 * The single place errors become responses. AppError carries its own status, code and headers; Hono's
 * HTTPException (thrown by its validators for unparseable JSON, or a body that is not JSON) maps to the problem
 * our own checks give (400 `malformed_json`, 415 `unsupported_media_type`); anything else is a bug: it is logged
 * with the request id and answered with a generic 500 that reveals nothing.
 */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from '../lib/app-env';
import { AppError, problemBody, problemResponse } from '../lib/errors';
import { describeError } from '../lib/logger';
import { notJsonBody } from './security';

export const onError: ErrorHandler<AppEnv> = (thrown, c) => {
  const requestId = c.get('requestId') ?? 'unknown';
  // A route's own media-type check throws Hono's 415: answered as requireJsonBody answers it.
  const err = thrown instanceof HTTPException && thrown.status === 415 ? notJsonBody() : thrown;
  if (err instanceof AppError) {
    return problemResponse(
      problemBody(err.status, err.code, err.message, requestId, err.errors, err.extensions),
      err.headers,
    );
  }
  if (err instanceof HTTPException && err.status < 500) {
    const malformed = /malformed json/i.test(err.message);
    return problemResponse(
      problemBody(
        err.status,
        malformed ? 'malformed_json' : 'bad_request',
        malformed ? 'The request body is not valid JSON.' : 'The request could not be understood.',
        requestId,
      ),
    );
  }
  c.get('logger')?.error('unhandled error', describeError(err));
  return problemResponse(
    problemBody(
      500,
      'internal_error',
      'Something went wrong on our side. Quote the request id if you report it.',
      requestId,
    ),
  );
};

/** The answer to a path nothing serves; dev-only paths outside development give exactly this one too. */
export const routeNotFound = (path: string) =>
  new AppError(404, 'route_not_found', `There is no route ${path}.`);

type RouteSignature = { method: string; pattern: RegExp };

/**
 * Compiles Hono route paths (`/v1/store/products/:handle`) into matchers, to tell 404 from 405. A path matches
 * exactly as the router matches it (strict: `/health/` is not `/health`): a path no method is served on is a 404,
 * never a 405 whose `Allow` names methods that miss there too.
 */
function compileRoutes(routes: { method: string; path: string }[]): RouteSignature[] {
  return routes
    .filter((r) => r.method !== 'ALL' && !r.path.includes('*'))
    .map((r) => ({
      method: r.method,
      pattern: new RegExp(`^${r.path.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\/:[^/]+/g, '/[^/]+')}$`),
    }));
}

export function notFoundOrMethodNotAllowed(
  routes: () => { method: string; path: string }[],
): NotFoundHandler<AppEnv> {
  let compiled: RouteSignature[] | undefined;
  return (c: Context<AppEnv>) => {
    compiled ??= compileRoutes(routes());
    const path = c.req.path;
    const allowed = [...new Set(compiled.filter((r) => r.pattern.test(path)).map((r) => r.method))];
    if (allowed.length > 0) {
      if (allowed.includes('GET')) allowed.push('HEAD');
      return problemResponse(
        problemBody(405, 'method_not_allowed', `${c.req.method} is not supported here.`, c.get('requestId')),
        { Allow: allowed.join(', ') },
      );
    }
    const notFound = routeNotFound(path);
    return problemResponse(problemBody(notFound.status, notFound.code, notFound.message, c.get('requestId')));
  };
}
