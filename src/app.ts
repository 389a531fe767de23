/**
 * Builds the API: the middleware chain every request passes, the module routers under /v1, the OpenAPI
 * document and the docs page. Order matters: request context first (so every response, even an error, has a
 * request id and a log line), then transport guards, then per-surface middleware (geo + edge cache for the
 * storefront, credentials for admin).
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { except } from 'hono/combine';
import { createMiddleware } from 'hono/factory';
import { publishableKey } from './auth/publishable-key-middleware';
import { API_NAME, API_VERSION } from './lib/api-version';
import type { AppEnv, StoreEnv } from './lib/app-env';
import { finishDocument } from './lib/openapi-document';
import { edgeCache } from './middleware/edge-cache';
import { notFoundOrMethodNotAllowed, onError } from './middleware/error-handler';
import { geo } from './middleware/geo';
import { requestBounds } from './middleware/request-bounds';
import { requestContext } from './middleware/request-context';
import { corsFromAllowlist, limitBody, requireJsonBody, securityHeaders } from './middleware/security';
import { documentEventWebhooks } from './modules/events/webhook-docs';
import { mountRoutes } from './routes';

const STOREFRONT_PATH = '/v1/store/*';
/** Provider webhooks: called server to server, never by a browser, so no CORS answer is ever given there. */
const HOOKS_PATH = '/v1/hooks/*';
const PUBLIC_CATALOG_PATHS = [
  '/v1/store/regions',
  '/v1/store/products',
  '/v1/store/products/*',
  '/v1/store/categories',
  '/v1/store/collections',
];
/** Under a cached path, but exact stock, which changes with every cart: never read from or put in the cache. */
const UNCACHED_STOREFRONT_PATHS = [/^\/v1\/store\/products\/[^/]+\/availability$/];

/** `/a/*` matches `/a` and everything under it, as Hono does; anything else matches itself. */
const matchesHonoPath = (pattern: string, path: string) =>
  pattern.endsWith('/*')
    ? path === pattern.slice(0, -2) || path.startsWith(pattern.slice(0, -1))
    : pattern === path;

/** Whether the edge cache answers GETs of `path` (a request path or an OpenAPI path). */
const isCachedPath = (path: string) =>
  PUBLIC_CATALOG_PATHS.some((p) => matchesHonoPath(p, path)) &&
  !UNCACHED_STOREFRONT_PATHS.some((uncached) => uncached.test(path));

export function createApp() {
  const app = new OpenAPIHono<AppEnv>();

  app.use(
    '*',
    requestContext(),
    securityHeaders(),
    except(HOOKS_PATH, corsFromAllowlist()),
    requestBounds(),
    limitBody(),
    requireJsonBody(),
  );
  app.use(STOREFRONT_PATH, publishableKey(), geo());
  // Only the public catalog is shared-cacheable; anything per shopper (accounts, carts) must never be.
  const cache = edgeCache();
  const cacheUnlessUncached = createMiddleware<StoreEnv>(async (c, next) =>
    isCachedPath(c.req.path) ? cache(c, next) : next(),
  );
  for (const path of PUBLIC_CATALOG_PATHS) app.use(path, cacheUnlessUncached);

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
      isStorefront: (path) => matchesHonoPath(STOREFRONT_PATH, path),
      isCached: isCachedPath,
    });
    return c.json(document);
  });

  app.onError(onError);
  app.notFound(notFoundOrMethodNotAllowed(() => app.routes));
  return app;
}
