/**
 * Finishes the generated OpenAPI document with what holds for many routes at once because middleware does it,
 * so it is declared once here, beside the rule that says where it applies, rather than in every route file:
 * operation ids, the storefront's request headers, the edge cache's response headers, the request id, the replay
 * header of writes that take an Idempotency-Key, the admin surface's D1 bookmark, and the problems every route
 * of a kind can answer (any URL's 414 and 422; a body's 400, 413 and 415; a path or query parameter's 422; the
 * storefront's 401, 422 and 503), and nullable references stated so that null fits them.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { PROBLEM_CONTENT_TYPE } from './errors';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER } from './idempotency';
import { problemDescriptions, RETRY_AFTER_HEADER_OBJECT, RETRY_AFTER_STATUSES } from './openapi';

type Document = ReturnType<OpenAPIHono['getOpenAPI31Document']>;
type Operation = NonNullable<NonNullable<Document['paths']>[string]['get']>;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

const ref = (kind: 'parameters' | 'headers', name: string) => ({ $ref: `#/components/${kind}/${name}` });

const words = (text: string) => text.split(/[-._]/).filter(Boolean);
const capitalize = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);

/**
 * The operation id of a route, by one rule so that generated clients can rely on it: the method, then each
 * path segment after `/v1` (split at `-`, `.` and `_`), a parameter as `By<Name>`, in camelCase.
 * `GET /v1/admin/products/{id}` -> `getAdminProductsById`, `POST /v1/auth/staff/mfa/verify` -> `postAuthStaffMfaVerify`.
 * The root path reads as `Index` (`GET /` -> `getIndex`).
 */
function operationIdOf(method: string, path: string): string {
  const parts = path
    .replace(/^\/v1(?=\/)/, '')
    .split('/')
    .flatMap((segment) => {
      const param = /^\{(.+)\}$/.exec(segment)?.[1];
      return param ? ['by', ...words(param)] : words(segment);
    });
  return method.toLowerCase() + (parts.length > 0 ? parts.map(capitalize).join('') : 'Index');
}

/** Where the middleware of src/app.ts runs: paths in OpenAPI form, methods in upper case. */
export type DocumentSurfaces = {
  /** Paths whose URL the request bounds limit: too long (414), too many query parameters (422). */
  isBounded: (path: string) => boolean;
  /** Methods whose body the transport guards bound (413) and require as JSON (415), on every path. */
  isBodyGuarded: (method: string) => boolean;
  /** Paths that pass the publishable-key and geo middleware. */
  isStorefront: (path: string) => boolean;
  /** Paths whose answers that state no caching of their own are `no-store` (noStoreUnlessStated). */
  isNoStore: (path: string) => boolean;
  /** GETs answered through the edge cache. */
  isCached: (path: string) => boolean;
  /** Paths whose queries run in a D1 session that answers with its bookmark (read-your-writes middleware). */
  isAdmin: (path: string) => boolean;
};

const components = {
  parameters: {
    PublishableApiKey: {
      name: 'X-Publishable-Api-Key',
      in: 'header',
      required: false,
      description:
        'A publishable key (`pk_...`) naming the storefront; its default region applies when the country is in ' +
        'no region. An unknown or revoked key is refused with 401.',
      schema: { type: 'string' },
    },
    AcceptLanguage: {
      name: 'Accept-Language',
      in: 'header',
      required: false,
      description:
        'Picks the locale among the region’s locales (RFC 9110 q-values) unless `locale` is given; otherwise ' +
        'the region’s first locale.',
      schema: { type: 'string', example: 'de-CH, de;q=0.9, en;q=0.5' },
    },
    D1BookmarkRequest: {
      name: 'X-D1-Bookmark',
      in: 'header',
      required: false,
      description:
        'The `X-D1-Bookmark` of an earlier admin answer: this read then sees at least what that request wrote, ' +
        'served by any database replica that has caught up (read replication). Without it, the read goes to ' +
        'the primary; a value that is not a bookmark is ignored.',
      schema: { type: 'string', example: '00000000-00000003-00000000-00000000000000000000000000000000' },
    },
    IfNoneMatch: {
      name: 'If-None-Match',
      in: 'header',
      required: false,
      description: 'An ETag from an earlier answer: 304 without a body when it still matches.',
      schema: { type: 'string' },
    },
  },
  headers: {
    RequestId: {
      description:
        'The request’s id, always one the API makes (a UUID): a client’s own `X-Request-Id` is never taken, only ' +
        'logged beside it as `client_request_id`. It is in the log line, the audit log and any problem.',
      schema: { type: 'string' },
    },
    ETag: { description: 'A strong validator of the body, for `If-None-Match`.', schema: { type: 'string' } },
    D1Bookmark: {
      description:
        'The database session bookmark after this request; send it back as `X-D1-Bookmark` on a later read to see ' +
        'this request’s writes. Absent when the request was refused before it read anything.',
      schema: { type: 'string' },
    },
    XCache: {
      description: 'Whether the edge cache answered (`HIT`) or the Worker rendered the response (`MISS`).',
      schema: { type: 'string', enum: ['HIT', 'MISS'] },
    },
    CacheControl: {
      description:
        '`private, no-cache`: the answer depends on the country, so clients revalidate (`no-store` when an ' +
        '`Authorization` header bypassed the cache).',
      schema: { type: 'string', example: 'private, no-cache' },
    },
    NoStore: {
      description:
        '`no-store`: a storefront answer depends on the shopper (country, key, language), and a live refusal on a ' +
        'product’s status, so one whose operation states no other caching, errors included, must not be kept.',
      schema: { type: 'string', example: 'no-store' },
    },
    IdempotentReplayed: {
      description:
        '`true` when this is the stored response of an earlier request with the same Idempotency-Key; absent otherwise.',
      schema: { type: 'string', enum: ['true'] },
    },
  },
} satisfies NonNullable<Document['components']>;

const CACHED_RESPONSE_HEADERS = {
  ETag: ref('headers', 'ETag'),
  'X-Cache': ref('headers', 'XCache'),
  'Cache-Control': ref('headers', 'CacheControl'),
};

/** A problem+json response as `problems()` (openapi.ts) documents it, generated; a new object per operation. */
const problemResponse = (status: number) => ({
  description: problemDescriptions[status] as string,
  ...(RETRY_AFTER_STATUSES.has(status) && { headers: { 'Retry-After': { ...RETRY_AFTER_HEADER_OBJECT } } }),
  content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } },
});

/**
 * The problems middleware and validation answer before the route runs, for every route they cover:
 * - a URL over MAX_URL_LENGTH (414) or with more than MAX_QUERY_PARAMETERS query parameters (422, requestBounds),
 *   whatever the route declares: any URL can carry them;
 * - a body over MAX_BODY_BYTES (413, limitBody) or not JSON (415, requireJsonBody), whatever the method's route
 *   declares: a body sent where none is read is refused all the same;
 * - malformed JSON (400, the error handler) where the route reads a body;
 * - a path or query value its schema refuses (422, createRouter's hook; every id, handle and filter in this API
 *   has bounds);
 * - on the storefront, an unknown or revoked `X-Publishable-Api-Key` (401, publishableKey), a `region` or
 *   `locale` the store does not offer (422, geo), and no region to sell in while the store has none that the
 *   country, the key or DEFAULT_REGION names (503 `no_region_configured`, geo).
 * The routes list what only they answer.
 */
function addCommonProblems(
  path: string,
  method: string,
  op: Operation,
  responses: NonNullable<Operation['responses']>,
  on: DocumentSurfaces,
) {
  const statuses: number[] = [];
  if (on.isBounded(path)) statuses.push(414, 422);
  if (on.isBodyGuarded(method.toUpperCase())) statuses.push(413, 415);
  if (op.requestBody) statuses.push(400);
  const validated = (op.parameters ?? []).some(
    (p) => !('$ref' in p) && (p.in === 'path' || p.in === 'query'),
  );
  if (validated) statuses.push(422);
  if (on.isStorefront(path)) statuses.push(401, 422, 503);
  for (const status of statuses) responses[status] ??= problemResponse(status);
}

function finishOperation(path: string, method: string, op: Operation, on: DocumentSurfaces) {
  const responses = op.responses ?? {};
  addCommonProblems(path, method, op, responses, on);
  if (on.isStorefront(path)) {
    op.parameters = [
      ...(op.parameters ?? []),
      ref('parameters', 'PublishableApiKey'),
      ref('parameters', 'AcceptLanguage'),
    ];
  }
  // The idempotency middleware answers a replay with the first success response and this header.
  const takesIdempotencyKey = (op.parameters ?? []).some(
    (p) => !('$ref' in p) && p.in === 'header' && p.name === IDEMPOTENCY_KEY_HEADER,
  );
  // A request that sends an Authorization header bypasses the cache, so these headers may be absent.
  if (method === 'get' && on.isCached(path)) {
    op.parameters = [...(op.parameters ?? []), ref('parameters', 'IfNoneMatch')];
    const ok = responses['200'];
    if (ok && !('$ref' in ok)) ok.headers = { ...ok.headers, ...CACHED_RESPONSE_HEADERS };
    responses['304'] = {
      description: 'Not modified: `If-None-Match` matched',
      headers: CACHED_RESPONSE_HEADERS,
    };
  }
  const admin = on.isAdmin(path);
  if (admin && method === 'get')
    op.parameters = [...(op.parameters ?? []), ref('parameters', 'D1BookmarkRequest')];
  for (const [status, response] of Object.entries(responses)) {
    // A 101 belongs to the WebSocket: no middleware adds headers to it (see addResponseHeaders).
    if (status === '101' || '$ref' in response) continue;
    response.headers = {
      ...response.headers,
      'X-Request-Id': ref('headers', 'RequestId'),
      ...(admin ? { 'X-D1-Bookmark': ref('headers', 'D1Bookmark') } : {}),
    };
    if (on.isNoStore(path)) response.headers['Cache-Control'] ??= ref('headers', 'NoStore');
    if (takesIdempotencyKey && status.startsWith('2')) {
      response.headers[IDEMPOTENT_REPLAYED_HEADER] = ref('headers', 'IdempotentReplayed');
    }
  }
}

type SchemaNode = { allOf?: SchemaNode[]; anyOf?: SchemaNode[]; $ref?: string; type?: unknown };

/**
 * States each nullable reference as `anyOf: [{ $ref }, { type: 'null' }]`, in place. The generator renders
 * `.nullable()` of a named schema as `allOf: [{ $ref }, { type: [..., 'null'] }]`, which null cannot fit (it must
 * fit the reference too), so clients refused the null the API sends (an order's first transition's `from`) and
 * could not send the null it takes (a translation patch's removal); asteasolutions/zod-to-openapi#387 makes the
 * same change upstream. The schemas keep `.nullable()`: a union would state it too, but turns a field's
 * validation errors into one `Invalid input` at the union.
 */
function stateNullableReferences(node: unknown): void {
  if (node === null || typeof node !== 'object') return;
  for (const child of Object.values(node)) stateNullableReferences(child);
  const schema = node as SchemaNode;
  const [reference, nullable, ...more] = schema.allOf ?? [];
  if (!reference?.$ref || !nullable || more.length > 0) return;
  const { type, ...annotations } = nullable;
  if (!Array.isArray(type) || !type.includes('null')) return;
  delete schema.allOf;
  Object.assign(schema, annotations, { anyOf: [reference, { type: 'null' }] });
}

/** Adds operation ids, shared parameters and response headers in place; two routes with one id are refused. */
export function finishDocument(doc: Document, on: DocumentSurfaces): Document {
  doc.components = {
    ...doc.components,
    parameters: { ...doc.components?.parameters, ...components.parameters },
    headers: { ...doc.components?.headers, ...components.headers },
  };
  const seen = new Map<string, string>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const id = operationIdOf(method, path);
      op.operationId = id;
      finishOperation(path, method, op, on);
      const other = seen.get(id);
      if (other)
        throw new Error(`Operation id ${id} names both ${other} and ${method.toUpperCase()} ${path}`);
      seen.set(id, `${method.toUpperCase()} ${path}`);
    }
  }
  stateNullableReferences(doc);
  return doc;
}
