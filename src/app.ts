/**
 * Builds the API: the middleware chain every request passes, the module routers under /v1, the OpenAPI
 * document and the docs page. Order matters: request context first (so every response, even an error, has a
 * request id and a log line), then transport guards, then per-surface middleware (geo + edge cache for the
 * storefront, credentials for admin).
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { except } from 'hono/combine';
import { publishableKey } from './auth/publishable-key-middleware';
import { API_NAME, API_VERSION } from './lib/api-version';
import type { AppEnv } from './lib/app-env';
import { finishDocument } from './lib/openapi-document';
import { CATALOG_SCOPE, LISTING_SCOPE, productScope } from './lib/version-scopes';
import { type CacheScopes, edgeCache } from './middleware/edge-cache';
import { notFoundOrMethodNotAllowed, onError } from './middleware/error-handler';
import { geo } from './middleware/geo';
import { noStoreUnlessStated } from './middleware/no-store';
import { requestBounds } from './middleware/request-bounds';
import { requestContext } from './middleware/request-context';
import {
  corsFromAllowlist,
  limitBody,
  METHODS_WITH_BODY,
  requireJsonBody,
  securityHeaders,
} from './middleware/security';
import { documentEventWebhooks } from './modules/events/webhook-docs';
import { mountRoutes } from './routes';

/** Where the request context, transport guards and request bounds run: every request. */
const EVERY_PATH = '*';
const STOREFRONT_PATH = '/v1/store/*';
/** Provider webhooks: called server to server, never by a browser, so no CORS answer is ever given there. */
const HOOKS_PATH = '/v1/hooks/*';
/**
 * Where an answer that states no caching of its own is `no-store`: the storefront's depend on the shopper, and the
 * live streams' refusals on a product's status (a 404 before a launch must not be kept past it).
 */
const NO_STORE_PATHS = [STOREFRONT_PATH, '/v1/live/*'];

const REGION_LIST = [CATALOG_SCOPE];
const LISTINGS = [CATALOG_SCOPE, LISTING_SCOPE];
const PRODUCTS_PATH = '/v1/store/products';

/** The product listing, or one product page by its handle (as the router decodes it); anything else is not cached. */
function productPathScopes(path: string): readonly string[] | undefined {
  if (path === PRODUCTS_PATH) return LISTINGS;
  const handle = path.slice(PRODUCTS_PATH.length + 1);
  if (handle.includes('/')) return undefined;
  try {
    return [CATALOG_SCOPE, productScope(decodeURIComponent(handle))];
  } catch {
    return undefined;
  }
}

/**
 * The public catalog, the only shared-cacheable part of the API (anything per shopper, like accounts and carts,
 * must never be), with the cache scopes each response depends on.
 */
const PUBLIC_CATALOG: Record<string, CacheScopes> = {
  '/v1/store/regions': () => REGION_LIST,
  [`${PRODUCTS_PATH}/*`]: productPathScopes,
  '/v1/store/categories': () => LISTINGS,
  '/v1/store/collections': () => LISTINGS,
};

/** `*` matches every path and `/a/*` matches `/a` and everything under it, as Hono does; anything else itself. */
const matchesHonoPath = (pattern: string, path: string) =>
  pattern === EVERY_PATH ||
  (pattern.endsWith('/*')
    ? path === pattern.slice(0, -2) || path.startsWith(pattern.slice(0, -1))
    : pattern === path);

export function createApp() {
  const app = new OpenAPIHono<AppEnv>();

  app.use(EVERY_PATH, requestContext(), securityHeaders(), except(HOOKS_PATH, corsFromAllowlist()));
  // Before the guards below, so that it sees every such answer last, their refusals included.
  for (const path of NO_STORE_PATHS) app.use(path, noStoreUnlessStated());
  app.use(EVERY_PATH, requestBounds(), limitBody(), requireJsonBody());
  app.use(STOREFRONT_PATH, publishableKey(), geo());
  for (const [path, scopes] of Object.entries(PUBLIC_CATALOG)) app.use(path, edgeCache(scopes));

  mountRoutes(app);

  app.openAPIRegistry.registerComponent('securitySchemes', 'staffToken', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A staff access token (audience `edgecart:admin`) from `POST /v1/auth/staff/login`',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'secretKey', {
    type: 'http',
    scheme: 'bearer',
    description:
      'A secret API key: `Authorization: Bearer sk_...`, holding the permissions it was created with',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'customerToken', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A customer access token from /v1/auth/customers/login',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'orderToken', {
    type: 'apiKey',
    in: 'header',
    name: 'X-Order-Token',
    description: 'The `order_token` checkout returned for an order placed as a guest; opens that order only',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'cartToken', {
    type: 'apiKey',
    in: 'header',
    name: 'X-Cart-Token',
    description: 'A guest cart’s secret token, from the response of `POST /v1/store/carts`',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'stripeSignature', {
    type: 'apiKey',
    in: 'header',
    name: 'Stripe-Signature',
    description:
      'Stripe’s webhook signature (`t=...,v1=...`): HMAC-SHA256 of the timestamp and the raw body with the ' +
      'endpoint’s signing secret',
  });
  documentEventWebhooks(app.openAPIRegistry);
  const documentConfig = {
    openapi: '3.1.0',
    info: {
      title: API_NAME,
      version: API_VERSION,
      description:
        'Headless commerce at the edge. Storefront routes resolve region, currency, tax display and locale from the ' +
        'shopper’s country; every error is RFC 9457 problem+json with a stable `code`.',
    },
    servers: [{ url: '/' }],
  };
  // Built on the first request (every route is registered by then), then finished with what the middleware
  // above adds, by the same path patterns.
  let document: ReturnType<typeof app.getOpenAPI31Document> | undefined;
  app.get('/openapi.json', (c) => {
    document ??= finishDocument(app.getOpenAPI31Document(documentConfig), {
      isBounded: (path) => matchesHonoPath(EVERY_PATH, path),
      isBodyGuarded: (method) => METHODS_WITH_BODY.has(method),
      isStorefront: (path) => matchesHonoPath(STOREFRONT_PATH, path),
      isNoStore: (path) => NO_STORE_PATHS.some((p) => matchesHonoPath(p, path)),
      // Under a cached prefix but not cached itself (a product's exact availability): the scopes say so.
      isCached: (path) =>
        Object.entries(PUBLIC_CATALOG).some(
          ([p, scopes]) => matchesHonoPath(p, path) && scopes(path) !== undefined,
        ),
      isAdmin: (path) => path.startsWith('/v1/admin/'),
    });
    return c.json(document);
  });

  app.onError(onError);
  app.notFound(notFoundOrMethodNotAllowed(() => app.routes));
  return app;
}
