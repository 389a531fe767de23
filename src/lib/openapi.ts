/**
 * The router factory every module uses, so every validation failure looks the same (422 problem+json with a
 * pointer per field), no string that is not well-formed Unicode gets past validation, and every route lands in
 * /openapi.json.
 */
import { createRoute, OpenAPIHono, type RouteConfig, z } from '@hono/zod-openapi';
import type { Context, Env, MiddlewareHandler } from 'hono';
import type { ZodError } from 'zod';
import type { AppEnv } from './app-env';
import { AppError, type FieldError, PROBLEM_CONTENT_TYPE } from './errors';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_RETENTION_MS, MAX_IDEMPOTENCY_KEY_LENGTH } from './idempotency';
import { illFormedStrings } from './unicode-text';

/** JSON Pointer (RFC 6901) to `path` inside the request part `target` names, e.g. `/body/variants/0/sku`. */
function pointerTo(target: string, path: PropertyKey[]): string {
  const part = target === 'json' ? 'body' : target === 'param' ? 'path' : target;
  return `/${[part, ...path.map((p) => String(p).replaceAll('~', '~0').replaceAll('/', '~1'))].join('/')}`;
}

/** A field error per issue, pointing into the request part that failed, e.g. `/body/variants/0/sku`, `/query/limit`. */
export function toFieldErrors(target: string, error: ZodError): FieldError[] {
  const pointer = (path: PropertyKey[]) => pointerTo(target, path);
  return error.issues.flatMap((issue) =>
    // A strict object reports all unknown keys in one issue at the object; point at each key instead.
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ pointer: pointer([...issue.path, key]), message: 'Unknown field' }))
      : [{ pointer: pointer(issue.path), message: issue.message }],
  );
}

/**
 * A field error per string (or object key) of the validated value that holds half of a character: a lone UTF-16
 * surrogate, which JSON can escape (`"\ud83d"`) but no text is made of (src/lib/unicode-text.ts).
 */
const illFormedFieldErrors = (target: string, value: unknown): FieldError[] =>
  illFormedStrings(value).map((path) => ({
    pointer: pointerTo(target, path),
    message: 'Not well-formed Unicode: holds half of a character (a lone surrogate)',
  }));

/** A router for one surface; `E` is that surface's env (src/lib/app-env.ts), e.g. `createRouter<AdminEnv>()`. */
export function createRouter<E extends Env = AppEnv>() {
  return new OpenAPIHono<E>({
    // Runs on every validated part of every request (body, query, path, headers), after its schema.
    defaultHook: (result) => {
      const errors = result.success
        ? illFormedFieldErrors(result.target, result.data)
        : toFieldErrors(result.target, result.error);
      if (errors.length > 0) {
        throw new AppError(422, 'validation_failed', 'The request has invalid fields.', { errors });
      }
    },
  });
}

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'https://edgecart.dev/problems/validation_failed' }),
    title: z.string().openapi({ example: 'Unprocessable Content' }),
    status: z.number().int().openapi({ example: 422 }),
    detail: z.string(),
    code: z.string().openapi({ example: 'validation_failed' }),
    request_id: z.string(),
    errors: z
      .array(z.object({ pointer: z.string().openapi({ example: '/query/limit' }), message: z.string() }))
      .optional(),
    available: z
      .number()
      .int()
      .optional()
      .openapi({ description: '`out_of_stock` only: how many units could still be reserved' }),
  })
  .openapi('Problem');

export function jsonContent<T extends z.ZodType>(schema: T, description: string) {
  return { content: { 'application/json': { schema } }, description };
}

/** The `Location` header of a 201, for its OpenAPI entry. */
export const LocationHeader = z.object({
  Location: z.string().openapi({
    description: 'URL of the created resource',
    example: '/v1/admin/products/prod_01JD3Q6C5W9ZK2M4T8R7XPN0AB',
  }),
});

export function jsonBody<T extends z.ZodType>(schema: T) {
  return { content: { 'application/json': { schema } }, required: true };
}

const RETRY_AFTER_DESCRIPTION = 'Seconds to wait before trying again';

/** The `Retry-After` header of a 429 or 503, for its OpenAPI entry. */
const RetryAfterHeader = z.object({
  'Retry-After': z.string().openapi({ description: RETRY_AFTER_DESCRIPTION, example: '60' }),
});

/** The same header as the document renders it, for the problems finishDocument adds (openapi-document.ts). */
export const RETRY_AFTER_HEADER_OBJECT = {
  required: true,
  description: RETRY_AFTER_DESCRIPTION,
  schema: { type: 'string', description: RETRY_AFTER_DESCRIPTION, example: '60' },
} as const;

export const problemDescriptions: Record<number, string> = {
  400: 'Malformed request',
  401: 'Missing or invalid credentials',
  402: 'Payment declined',
  403: 'Not permitted',
  404: 'Not found',
  409: 'Conflicts with the current state',
  413: 'Body too large',
  414: 'URL too long',
  415: 'Body is not JSON',
  422: 'Invalid fields',
  426: 'Not a WebSocket upgrade',
  429: 'Too many requests',
  503: 'A service this request needs is unavailable',
};

/**
 * Statuses documented with `Retry-After`: every 429 sends it (rate limiter, account lock), and so does every 503
 * problem (a payment provider, an identity provider's keys or a live topic unreachable, a store with no region).
 */
export const RETRY_AFTER_STATUSES = new Set([429, 503]);

/**
 * The problem+json responses a route can give, for its OpenAPI entry. What middleware and validation answer for
 * every route of a kind need not be listed (414 and 422 of any URL; 413 and 415 of a POST, PUT, PATCH or DELETE;
 * 400 of a body; the storefront's 401, 422 and 503): finishDocument (openapi-document.ts) adds it.
 */
export function problems(...statuses: (keyof typeof problemDescriptions)[]) {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      {
        content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } },
        description: problemDescriptions[s],
        ...(RETRY_AFTER_STATUSES.has(s) && { headers: RetryAfterHeader }),
      },
    ]),
  ) as Record<
    number,
    {
      content: Record<string, { schema: typeof ProblemSchema }>;
      description: string;
      headers?: typeof RetryAfterHeader;
    }
  >;
}

/** A route anyone may call without a credential; the document says so (`security: []`) rather than leaving it unstated. */
export function publicRoute<const R extends Omit<RouteConfig, 'security'>>(route: R) {
  // Object.assign keeps R's literal types, as in adminRoute().
  return createRoute(Object.assign({}, route, { security: [] }));
}

/**
 * A route behind one authentication middleware: the check runs before validation and the handler, and the
 * OpenAPI document names the security scheme it needs. Middleware that needs the caller (an Idempotency-Key
 * claim scoped to them) follows the guard in `then`.
 */
export function guardedRoute<E extends Env, const R extends Omit<RouteConfig, 'middleware' | 'security'>>(
  guard: MiddlewareHandler<E>,
  scheme: 'customerToken' | 'staffToken',
  route: R,
  ...then: MiddlewareHandler<E>[]
) {
  // Typed as the guard alone: every handler in the chain has the guard's env, which is what handlers read.
  const middleware = [guard, ...then] as [MiddlewareHandler<E>];
  return createRoute({ ...route, middleware, security: [{ [scheme]: [] }] });
}

/**
 * What a retry with the key gets from a write whose keys src/lib/idempotency.ts keeps (the claim and the
 * recorded answer in D1): `replay` says what it answers (a route with the middleware's `replayAs`: the first
 * status with the resource as it is now).
 */
export const recordedKeySemantics = (replay = 'the first response again') =>
  `A retry with the same key and the same request gets ${replay}, with \`Idempotent-Replayed: true\`, for ` +
  `${IDEMPOTENCY_RETENTION_MS / 3_600_000} h; the same key with another request is 422 ` +
  '`idempotency_key_reused`; while the first request runs, 409 `idempotency_key_in_use`.';

/**
 * The Idempotency-Key request header of a write that accepts one, for its `request.headers`: its format, then
 * `semantics`, what a retry gets (recordedKeySemantics unless the write keeps its keys elsewhere). The middleware
 * (src/middleware/idempotency.ts) or the service checks it; this declares it.
 */
export function idempotencyKeyHeaders(required: boolean, semantics = recordedKeySemantics()) {
  const key = z.string().openapi({
    description: `1-${MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters (a UUID will do). ${semantics}`,
    example: '5f0c7e1a-3b4d-4c2e-9a8f-1d2e3f4a5b6c',
  });
  return z.object({ [IDEMPOTENCY_KEY_HEADER]: required ? key : key.optional() });
}

/**
 * The top-level fields of the request's JSON body, in the order sent: what a write's audit entry lists. Read
 * after validation, which has parsed (and cached) the body.
 */
export async function sentFields<E extends Env>(c: Context<E>): Promise<string[]> {
  const body: unknown = await c.req.json();
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body) : [];
}

/** A 201 answer for a created record: its representation, and its URL in `Location`. */
export function respondCreated<E extends Env, T extends { id: string }>(
  c: Context<E>,
  collectionPath: string,
  body: T,
) {
  c.header('Location', `${collectionPath}/${body.id}`);
  return c.json(body, 201);
}
