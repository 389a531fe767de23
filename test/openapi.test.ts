import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app';
import { MAX_QUERY_PARAMETERS, MAX_URL_LENGTH } from '../src/middleware/request-bounds';
import { seedRegions } from './helpers/catalog-fixtures';
import { registerCustomer } from './helpers/customers';
import { bearer, call, expectProblem, jsonInit } from './helpers/http';

type Ref = { $ref: string };
type Response = { description: string; headers?: Record<string, unknown>; content?: Record<string, unknown> };
type Operation = {
  operationId: string;
  responses: Record<string, Response>;
  parameters?: unknown[];
  'x-permission'?: string;
  security?: Record<string, string[]>[];
  requestBody?: unknown;
};
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, Record<string, unknown>>;
};

/** Hono paths (`/v1/store/products/:handle`) in OpenAPI form (`/v1/store/products/{handle}`). */
const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z_]+)/g, '{$1}');

let doc: Document;
beforeAll(async () => {
  doc = (await (await call('/openapi.json')).json()) as Document;
});

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({
      route: `${method.toUpperCase()} ${path}`,
      path,
      method,
      op,
    })),
  );

const ref = (kind: string, name: string): Ref => ({ $ref: `#/components/${kind}/${name}` });

/** A problem response as finishDocument generates it for an operation at `path`. */
const problem = (description: string, path: string) => ({
  description,
  content: { 'application/problem+json': { schema: ref('schemas', 'Problem') } },
  headers: {
    'X-Request-Id': ref('headers', 'RequestId'),
    ...(path.startsWith('/v1/admin/') && { 'X-D1-Bookmark': ref('headers', 'D1Bookmark') }),
    ...((path.startsWith('/v1/store/') || path.startsWith('/v1/live')) && {
      'Cache-Control': ref('headers', 'NoStore'),
    }),
  },
});

/** The storefront GETs the edge cache answers (PUBLIC_CATALOG_PATHS in src/app.ts). */
const CACHED = [
  'getStoreRegions',
  'getStoreProducts',
  'getStoreProductsByHandle',
  'getStoreCategories',
  'getStoreCollections',
];

describe('OpenAPI document', () => {
  it('documents every route the app serves', () => {
    const documented = new Set(operations().map((o) => o.route));
    const undocumented = new Set(['GET /docs', 'GET /favicon.ico', 'GET /openapi.json']);
    const served = createApp()
      .routes.filter((r) => r.method !== 'ALL' && !undocumented.has(`${r.method} ${r.path}`))
      .map((r) => `${r.method} ${toOpenApiPath(r.path)}`);
    expect(served.length).toBeGreaterThan(5);
    expect(served.filter((route) => !documented.has(route))).toStrictEqual([]);
  });

  it('gives every operation a success response, a client error (any URL can be too long), and admin ones a permission', () => {
    // What redocly.yaml turns off (operation-2xx-response, operation-4xx-response) is checked here instead.
    for (const { route, path, op } of operations()) {
      const statuses = Object.keys(op.responses);
      // A WebSocket route succeeds with 101 Switching Protocols.
      expect(
        statuses.some((s) => s.startsWith('2') || s === '101'),
        route,
      ).toBe(true);
      expect(
        statuses.some((s) => s.startsWith('4')),
        route,
      ).toBe(true);
      if (path.startsWith('/v1/admin/')) {
        expect(op['x-permission'], route).toMatch(/^[a-z_]+:[a-z_]+$/);
        expect(op.security, route).toStrictEqual([{ staffToken: [] }, { secretKey: [] }]);
      }
    }
  });

  // Generated clients name their methods after these: a change here breaks every client built from the document.
  it('names every operation by method and path (pinned)', () => {
    expect(Object.fromEntries(operations().map((o) => [o.route, o.op.operationId]))).toStrictEqual({
      'GET /': 'getIndex',
      'GET /health': 'getHealth',
      'GET /ready': 'getReady',
      'GET /.well-known/jwks.json': 'getWellKnownJwksJson',
      'GET /v1/dev/mailbox': 'getDevMailbox',
      'POST /v1/auth/customers/register': 'postAuthCustomersRegister',
      'POST /v1/auth/customers/login': 'postAuthCustomersLogin',
      'POST /v1/auth/customers/oidc': 'postAuthCustomersOidc',
      'POST /v1/auth/customers/refresh': 'postAuthCustomersRefresh',
      'POST /v1/auth/customers/logout': 'postAuthCustomersLogout',
      'POST /v1/auth/customers/verify-email': 'postAuthCustomersVerifyEmail',
      'POST /v1/auth/customers/password-reset/request': 'postAuthCustomersPasswordResetRequest',
      'POST /v1/auth/customers/password-reset/confirm': 'postAuthCustomersPasswordResetConfirm',
      'GET /v1/store/regions': 'getStoreRegions',
      'GET /v1/store/products': 'getStoreProducts',
      'GET /v1/store/products/{handle}': 'getStoreProductsByHandle',
      'GET /v1/store/products/{id}/availability': 'getStoreProductsByIdAvailability',
      'GET /v1/store/stock-levels': 'getStoreStockLevels',
      'GET /v1/store/categories': 'getStoreCategories',
      'GET /v1/store/collections': 'getStoreCollections',
      'GET /v1/store/customers/me': 'getStoreCustomersMe',
      'PATCH /v1/store/customers/me': 'patchStoreCustomersMe',
      'DELETE /v1/store/customers/me': 'deleteStoreCustomersMe',
      'GET /v1/store/customers/me/export': 'getStoreCustomersMeExport',
      'GET /v1/store/customers/me/sessions': 'getStoreCustomersMeSessions',
      'DELETE /v1/store/customers/me/sessions/{id}': 'deleteStoreCustomersMeSessionsById',
      'GET /v1/store/customers/me/addresses': 'getStoreCustomersMeAddresses',
      'POST /v1/store/customers/me/addresses': 'postStoreCustomersMeAddresses',
      'PATCH /v1/store/customers/me/addresses/{id}': 'patchStoreCustomersMeAddressesById',
      'DELETE /v1/store/customers/me/addresses/{id}': 'deleteStoreCustomersMeAddressesById',
      'GET /v1/store/orders': 'getStoreOrders',
      'GET /v1/store/orders/{id}': 'getStoreOrdersById',
      'POST /v1/store/orders/{id}/confirm-payment': 'postStoreOrdersByIdConfirmPayment',
      'POST /v1/store/carts': 'postStoreCarts',
      'GET /v1/store/carts/{id}': 'getStoreCartsById',
      'PATCH /v1/store/carts/{id}': 'patchStoreCartsById',
      'POST /v1/store/carts/{id}/line-items': 'postStoreCartsByIdLineItems',
      'PATCH /v1/store/carts/{id}/line-items/{line_id}': 'patchStoreCartsByIdLineItemsByLineId',
      'DELETE /v1/store/carts/{id}/line-items/{line_id}': 'deleteStoreCartsByIdLineItemsByLineId',
      'GET /v1/store/carts/{id}/shipping-options': 'getStoreCartsByIdShippingOptions',
      'POST /v1/store/carts/{id}/merge': 'postStoreCartsByIdMerge',
      'POST /v1/store/carts/{id}/checkout': 'postStoreCartsByIdCheckout',
      'POST /v1/admin/regions': 'postAdminRegions',
      'GET /v1/admin/regions': 'getAdminRegions',
      'GET /v1/admin/regions/{id}': 'getAdminRegionsById',
      'PATCH /v1/admin/regions/{id}': 'patchAdminRegionsById',
      'DELETE /v1/admin/regions/{id}': 'deleteAdminRegionsById',
      'POST /v1/admin/products': 'postAdminProducts',
      'GET /v1/admin/products': 'getAdminProducts',
      'GET /v1/admin/products/{id}': 'getAdminProductsById',
      'PATCH /v1/admin/products/{id}': 'patchAdminProductsById',
      'DELETE /v1/admin/products/{id}': 'deleteAdminProductsById',
      'POST /v1/admin/products/{id}/archive': 'postAdminProductsByIdArchive',
      'POST /v1/admin/products/{id}/variants': 'postAdminProductsByIdVariants',
      'PATCH /v1/admin/variants/{id}': 'patchAdminVariantsById',
      'DELETE /v1/admin/variants/{id}': 'deleteAdminVariantsById',
      'PUT /v1/admin/variants/{id}/prices': 'putAdminVariantsByIdPrices',
      'GET /v1/admin/inventory/{variant_id}': 'getAdminInventoryByVariantId',
      'PUT /v1/admin/inventory/{variant_id}': 'putAdminInventoryByVariantId',
      'PATCH /v1/admin/inventory/{variant_id}': 'patchAdminInventoryByVariantId',
      'POST /v1/admin/inventory/{variant_id}/adjustments': 'postAdminInventoryByVariantIdAdjustments',
      'GET /v1/admin/inventory/{variant_id}/reservations': 'getAdminInventoryByVariantIdReservations',
      'GET /v1/admin/orders': 'getAdminOrders',
      'GET /v1/admin/orders/{id}': 'getAdminOrdersById',
      'POST /v1/admin/orders/{id}/fulfillments': 'postAdminOrdersByIdFulfillments',
      'POST /v1/admin/orders/{id}/deliver': 'postAdminOrdersByIdDeliver',
      'POST /v1/admin/orders/{id}/cancel': 'postAdminOrdersByIdCancel',
      'POST /v1/admin/orders/{id}/refunds': 'postAdminOrdersByIdRefunds',
      'POST /v1/admin/categories': 'postAdminCategories',
      'GET /v1/admin/categories': 'getAdminCategories',
      'GET /v1/admin/categories/{id}': 'getAdminCategoriesById',
      'PATCH /v1/admin/categories/{id}': 'patchAdminCategoriesById',
      'DELETE /v1/admin/categories/{id}': 'deleteAdminCategoriesById',
      'POST /v1/admin/collections': 'postAdminCollections',
      'GET /v1/admin/collections': 'getAdminCollections',
      'GET /v1/admin/collections/{id}': 'getAdminCollectionsById',
      'PATCH /v1/admin/collections/{id}': 'patchAdminCollectionsById',
      'DELETE /v1/admin/collections/{id}': 'deleteAdminCollectionsById',
      'POST /v1/admin/identity-providers': 'postAdminIdentityProviders',
      'GET /v1/admin/identity-providers': 'getAdminIdentityProviders',
      'PATCH /v1/admin/identity-providers/{id}': 'patchAdminIdentityProvidersById',
      'DELETE /v1/admin/identity-providers/{id}': 'deleteAdminIdentityProvidersById',
      'POST /v1/admin/api-keys': 'postAdminApiKeys',
      'GET /v1/admin/api-keys': 'getAdminApiKeys',
      'POST /v1/admin/api-keys/{id}/revoke': 'postAdminApiKeysByIdRevoke',
      'GET /v1/admin/audit-log': 'getAdminAuditLog',
      'POST /v1/admin/staff/invites': 'postAdminStaffInvites',
      'GET /v1/admin/staff/invites': 'getAdminStaffInvites',
      'POST /v1/admin/staff/invites/{id}/revoke': 'postAdminStaffInvitesByIdRevoke',
      'GET /v1/admin/staff': 'getAdminStaff',
      'GET /v1/admin/staff/{id}': 'getAdminStaffById',
      'PATCH /v1/admin/staff/{id}': 'patchAdminStaffById',
      'POST /v1/admin/staff/{id}/mfa/reset': 'postAdminStaffByIdMfaReset',
      'POST /v1/admin/shipping-options': 'postAdminShippingOptions',
      'GET /v1/admin/shipping-options': 'getAdminShippingOptions',
      'GET /v1/admin/shipping-options/{id}': 'getAdminShippingOptionsById',
      'PATCH /v1/admin/shipping-options/{id}': 'patchAdminShippingOptionsById',
      'DELETE /v1/admin/shipping-options/{id}': 'deleteAdminShippingOptionsById',
      'POST /v1/admin/discounts': 'postAdminDiscounts',
      'GET /v1/admin/discounts': 'getAdminDiscounts',
      'GET /v1/admin/discounts/{id}': 'getAdminDiscountsById',
      'PATCH /v1/admin/discounts/{id}': 'patchAdminDiscountsById',
      'DELETE /v1/admin/discounts/{id}': 'deleteAdminDiscountsById',
      'POST /v1/admin/webhooks': 'postAdminWebhooks',
      'GET /v1/admin/webhooks': 'getAdminWebhooks',
      'GET /v1/admin/webhooks/{id}': 'getAdminWebhooksById',
      'PATCH /v1/admin/webhooks/{id}': 'patchAdminWebhooksById',
      'DELETE /v1/admin/webhooks/{id}': 'deleteAdminWebhooksById',
      'POST /v1/admin/webhooks/{id}/rotate-secret': 'postAdminWebhooksByIdRotateSecret',
      'GET /v1/admin/webhooks/{id}/deliveries': 'getAdminWebhooksByIdDeliveries',
      'POST /v1/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver':
        'postAdminWebhooksByIdDeliveriesByDeliveryIdRedeliver',
      'POST /v1/admin/webhooks/{id}/replay': 'postAdminWebhooksByIdReplay',
      'POST /v1/admin/webhooks/{id}/test': 'postAdminWebhooksByIdTest',
      'GET /v1/admin/events/dead-letters': 'getAdminEventsDeadLetters',
      'GET /v1/admin/events/dead-letters/{id}': 'getAdminEventsDeadLettersById',
      'POST /v1/admin/events/dead-letters/{id}/replay': 'postAdminEventsDeadLettersByIdReplay',
      'GET /v1/admin/analytics/sales': 'getAdminAnalyticsSales',
      'POST /v1/auth/staff/login': 'postAuthStaffLogin',
      'POST /v1/auth/staff/mfa/verify': 'postAuthStaffMfaVerify',
      'POST /v1/auth/staff/mfa/enrollment-token': 'postAuthStaffMfaEnrollmentToken',
      'POST /v1/auth/staff/mfa/enrollment': 'postAuthStaffMfaEnrollment',
      'POST /v1/auth/staff/mfa/enrollment/confirm': 'postAuthStaffMfaEnrollmentConfirm',
      'POST /v1/auth/staff/refresh': 'postAuthStaffRefresh',
      'POST /v1/auth/staff/logout': 'postAuthStaffLogout',
      'GET /v1/auth/staff/sessions': 'getAuthStaffSessions',
      'DELETE /v1/auth/staff/sessions/{id}': 'deleteAuthStaffSessionsById',
      'POST /v1/auth/staff/invites/accept': 'postAuthStaffInvitesAccept',
      'GET /v1/live': 'getLive',
      'GET /v1/live/channel': 'getLiveChannel',
      'GET /v1/live/sse': 'getLiveSse',
      'POST /v1/live/tickets': 'postLiveTickets',
      'POST /v1/hooks/stripe': 'postHooksStripe',
    });
  });

  it('states the security of every operation: these are public, every other one names its credential', () => {
    const isPublic = (op: Operation) => op.security?.length === 0;
    expect(
      operations()
        .filter((o) => isPublic(o.op))
        .map((o) => o.op.operationId),
    ).toStrictEqual([
      'getIndex',
      'getHealth',
      'getReady',
      'getWellKnownJwksJson',
      'getDevMailbox',
      'postAuthCustomersRegister',
      'postAuthCustomersLogin',
      'postAuthCustomersOidc',
      'postAuthCustomersRefresh',
      'postAuthCustomersVerifyEmail',
      'postAuthCustomersPasswordResetRequest',
      'postAuthCustomersPasswordResetConfirm',
      'getStoreRegions',
      'getStoreProducts',
      'getStoreProductsByHandle',
      'getStoreProductsByIdAvailability',
      'getStoreStockLevels',
      'getStoreCategories',
      'getStoreCollections',
      'postAuthStaffLogin',
      'postAuthStaffMfaVerify',
      'postAuthStaffMfaEnrollment',
      'postAuthStaffMfaEnrollmentConfirm',
      'postAuthStaffRefresh',
      'postAuthStaffLogout',
      'postAuthStaffInvitesAccept',
      'getLive',
      'getLiveChannel',
      'getLiveSse',
    ]);
    const schemes = new Set(Object.keys(doc.components.securitySchemes ?? {}));
    for (const { route, op } of operations().filter((o) => !isPublic(o.op))) {
      expect(op.security?.length, route).toBeGreaterThan(0);
      for (const requirement of op.security ?? []) {
        for (const scheme of Object.keys(requirement)) expect(schemes.has(scheme), route).toBe(true);
      }
    }
  });

  it('declares the storefront request headers on every storefront operation, and only there', () => {
    const storefrontHeaders = [ref('parameters', 'PublishableApiKey'), ref('parameters', 'AcceptLanguage')];
    for (const { route, path, op } of operations()) {
      const declared = (op.parameters ?? []).filter((p) =>
        storefrontHeaders.some((h) => h.$ref === (p as Ref).$ref),
      );
      expect(declared, route).toStrictEqual(path.startsWith('/v1/store/') ? storefrontHeaders : []);
    }
    expect(doc.components.parameters?.PublishableApiKey).toMatchObject({
      name: 'X-Publishable-Api-Key',
      in: 'header',
    });
    expect(doc.components.parameters?.AcceptLanguage).toMatchObject({
      name: 'Accept-Language',
      in: 'header',
    });
  });

  it('declares the response headers: request id on all, cache headers on cached GETs, Retry-After on 429 and 503', () => {
    const cacheHeaders = {
      ETag: ref('headers', 'ETag'),
      'X-Cache': ref('headers', 'XCache'),
      'Cache-Control': ref('headers', 'CacheControl'),
    };
    for (const { route, op } of operations()) {
      const cached = CACHED.includes(op.operationId);
      expect(op.responses['200']?.headers?.ETag, route).toStrictEqual(cached ? cacheHeaders.ETag : undefined);
      if (cached) {
        expect(op.responses['200']?.headers, route).toMatchObject(cacheHeaders);
        expect(op.responses['304'], route).toStrictEqual({
          description: 'Not modified: `If-None-Match` matched',
          headers: { ...cacheHeaders, 'X-Request-Id': ref('headers', 'RequestId') },
        });
        expect(op.parameters, route).toContainEqual(ref('parameters', 'IfNoneMatch'));
      }
      for (const [status, response] of Object.entries(op.responses)) {
        // A switched-protocols response belongs to the socket: no middleware adds headers to it.
        const requestId = status === '101' ? undefined : ref('headers', 'RequestId');
        expect(response.headers?.['X-Request-Id'], `${route} ${status}`).toStrictEqual(requestId);
        if ((status === '429' || status === '503') && response.content?.['application/problem+json']) {
          expect(response.headers?.['Retry-After'], `${route} ${status}`).toMatchObject({ required: true });
        }
      }
    }
  });

  it('declares X-D1-Bookmark on admin answers and as a header admin reads take, and only there', () => {
    for (const { route, path, method, op } of operations()) {
      const admin = path.startsWith('/v1/admin/');
      const takesBookmark = (op.parameters ?? []).some(
        (p) => (p as Ref).$ref === ref('parameters', 'D1BookmarkRequest').$ref,
      );
      expect(takesBookmark, route).toBe(admin && method === 'get');
      for (const [status, response] of Object.entries(op.responses)) {
        expect(response.headers?.['X-D1-Bookmark'], `${route} ${status}`).toStrictEqual(
          admin ? ref('headers', 'D1Bookmark') : undefined,
        );
      }
    }
    expect(doc.components.parameters?.D1BookmarkRequest).toMatchObject({
      name: 'X-D1-Bookmark',
      in: 'header',
    });
  });

  it('declares Location on the 201s that send it (respondCreated)', () => {
    const withLocation = operations()
      .filter((o) => o.op.responses['201']?.headers?.Location)
      .map((o) => o.op.operationId);
    expect(withLocation).toStrictEqual([
      'postStoreCarts',
      'postAdminRegions',
      'postAdminProducts',
      'postAdminProductsByIdVariants',
      'postAdminCategories',
      'postAdminCollections',
      'postAdminIdentityProviders',
      'postAdminShippingOptions',
      'postAdminDiscounts',
      'postAdminWebhooks',
    ]);
  });

  it('declares Idempotency-Key on the writes that take one, and Idempotent-Replayed on their successes', () => {
    type Parameter = { in?: string; name?: string; required?: boolean };
    const takesKey = (op: Operation) =>
      ((op.parameters ?? []) as Parameter[]).find((p) => p.in === 'header' && p.name === 'Idempotency-Key');
    const withKey = operations().filter((o) => takesKey(o.op));
    expect(
      Object.fromEntries(withKey.map((o) => [o.op.operationId, takesKey(o.op)?.required ?? false])),
    ).toStrictEqual({
      patchStoreCustomersMe: false,
      postStoreCustomersMeAddresses: false,
      patchStoreCustomersMeAddressesById: false,
      deleteStoreCustomersMeAddressesById: false,
      postStoreCartsByIdCheckout: true,
      postAdminOrdersByIdFulfillments: false,
      postAdminOrdersByIdDeliver: false,
      postAdminOrdersByIdCancel: false,
      postAdminOrdersByIdRefunds: false,
      putAdminInventoryByVariantId: false,
      postAdminInventoryByVariantIdAdjustments: false,
      postStoreCartsByIdLineItems: false,
    });
    for (const { route, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        const replayed = response.headers?.['Idempotent-Replayed'];
        expect(replayed, `${route} ${status}`).toStrictEqual(
          takesKey(op) && status.startsWith('2') ? ref('headers', 'IdempotentReplayed') : undefined,
        );
      }
    }
  });

  it('declares the problems any body or parameter can meet (413, 415 of every write; 400; 422) on every operation that has one', () => {
    expect(operations().filter((o) => o.op.requestBody).length).toBeGreaterThan(50);
    for (const { route, path, method, op } of operations()) {
      const body = op.requestBody !== undefined;
      // The body guards (src/middleware/security.ts) answer these methods whether or not the route reads a body.
      const guarded = ['post', 'put', 'patch', 'delete'].includes(method);
      // A route may describe its own 400 or 422 (what it refuses beyond the schema): only presence is pinned.
      if (body) expect(op.responses['400'], route).toBeDefined();
      expect(op.responses['413'], route).toStrictEqual(guarded ? problem('Body too large', path) : undefined);
      expect(op.responses['415'], route).toStrictEqual(
        guarded ? problem('Body is not JSON', path) : undefined,
      );
      const parameters = (op.parameters ?? []) as { in?: string }[];
      if (parameters.some((p) => p.in === 'path' || p.in === 'query')) {
        expect(op.responses['422'], route).toBeDefined();
      }
    }
  });

  /** The storefront operations, and a request to each GET with `query`, its path parameters filled in. */
  const storefront = () => operations().filter(({ path }) => path.startsWith('/v1/store/'));
  const storefrontGets = (query = '') =>
    storefront()
      .filter(({ method }) => method === 'get')
      .map(({ path }) => `${path.replace(/\{[^}]+\}/g, 'x')}${query}`);

  it('declares on every storefront operation the 401 a bad X-Publishable-Api-Key gets there', async () => {
    for (const url of storefrontGets()) {
      const res = await call(url, {
        headers: { 'X-Publishable-Api-Key': 'pk_not_a_key' },
        cf: { country: 'DE' },
      });
      await expectProblem(res, 401, 'invalid_publishable_key');
    }
    expect(
      storefront()
        .filter(({ op }) => !op.responses['401'])
        .map(({ route }) => route),
    ).toStrictEqual([]);
  });

  it('declares on every storefront operation the 422 the geo middleware gives a region the store lacks', async () => {
    const who = await registerCustomer();
    for (const url of storefrontGets('?region=atlantis')) {
      const res = await call(url, { headers: bearer(who.tokens.access_token) });
      await expectProblem(res, 422, 'unknown_region', [
        { pointer: '/query/region', message: expect.any(String) },
      ]);
    }
    expect(
      storefront()
        .filter(({ op }) => !op.responses['422'])
        .map(({ route }) => route),
    ).toStrictEqual([]);
  });

  /** Every operation's request, its path parameters filled in, with `query` appended. */
  const requests = (query: string) =>
    operations().map(({ route, path, method }) => ({
      route,
      url: `${path.replace(/\{[^}]+\}/g, 'x')}${query}`,
      method: method.toUpperCase(),
    }));

  it('declares on every operation the 414 and 422 the request bounds give any URL, before routing', async () => {
    const longUrl = `?pad=${'x'.repeat(MAX_URL_LENGTH)}`;
    for (const { route, url, method } of requests(longUrl)) {
      const res = await call(url, { method });
      expect(res.status, route).toBe(414);
      await expectProblem(res, 414, 'uri_too_long');
    }
    const tooMany = `?${Array.from({ length: MAX_QUERY_PARAMETERS + 1 }, (_, i) => `p${i}=`).join('&')}`;
    for (const { route, url, method } of requests(tooMany)) {
      const res = await call(url, { method });
      expect(res.status, route).toBe(422);
      await expectProblem(res, 422, 'too_many_query_parameters', [
        { pointer: '/query', message: `Send at most ${MAX_QUERY_PARAMETERS} query parameters.` },
      ]);
    }
    for (const { route, path, op } of operations()) {
      expect(op.responses['414'], route).toStrictEqual(problem('URL too long', path));
      // A route may describe its own 422 (what it refuses beyond the schema): only presence is pinned.
      expect(op.responses['422'], route).toBeDefined();
    }
  });

  // Before any region exists in this file's storage: the last test seeds them.
  it('declares on every storefront operation the 503 the geo middleware gives while no region resolves', async () => {
    for (const url of storefrontGets()) {
      const res = await call(url, { cf: { country: 'DE' } });
      await expectProblem(res, 503, 'no_region_configured');
      expect(res.headers.get('Retry-After'), url).toBe('60');
    }
    for (const { route, op } of storefront()) {
      expect(op.responses['503']?.content, route).toStrictEqual({
        'application/problem+json': { schema: expect.anything() },
      });
      expect(op.responses['503']?.headers?.['Retry-After'], route).toMatchObject({ required: true });
    }
  });

  it('a write that declares no body answers a body as the document says: 415 if not JSON, 413 if too large', async () => {
    const logout = doc.paths['/v1/auth/customers/logout']?.post;
    expect(logout?.requestBody).toBeUndefined();
    expect(Object.keys(logout?.responses ?? {})).toEqual(expect.arrayContaining(['413', '415']));
    // A browser's fetch(url, { method: 'POST', body: 'x' }) sends text/plain.
    await expectProblem(
      await call('/v1/auth/customers/logout', { method: 'POST', body: 'x' }),
      415,
      'unsupported_media_type',
    );
    await expectProblem(
      await call(
        '/v1/auth/customers/logout',
        jsonInit('POST', { pad: 'x'.repeat(Number(env.MAX_BODY_BYTES)) }),
      ),
      413,
      'payload_too_large',
    );
  });

  // A generator of clients reads allOf as "all of these": `allOf: [{ $ref }, { type: [..., 'null'] }]` is the
  // referenced schema alone, and null is refused where the route takes or sends it.
  it('lets null fit every nullable reference', () => {
    const notNullable: string[] = [];
    const walk = (node: unknown, at: string) => {
      if (node === null || typeof node !== 'object') return;
      const parts = (node as { allOf?: { $ref?: string; type?: unknown }[] }).allOf ?? [];
      const nullable = parts.some((p) => Array.isArray(p.type) && p.type.includes('null'));
      if (nullable && parts.some((p) => p.$ref)) notNullable.push(at);
      for (const [key, child] of Object.entries(node)) walk(child, `${at}/${key}`);
    };
    walk(doc, '#');
    expect(notNullable).toStrictEqual([]);
  });

  it('resolves every reference inside the document', () => {
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    const unresolved = [...new Set(refs.map((r) => r.slice(8, -1)))].filter((pointer) => {
      const target = pointer
        .replace(/^#\//, '')
        .split('/')
        .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc);
      return target === undefined;
    });
    expect(unresolved).toStrictEqual([]);
  });

  it('declares the headers a cached storefront read really sends', async () => {
    await seedRegions();
    const res = await call('/v1/store/regions', { cf: { country: 'DE' } });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const declared = Object.keys(doc.paths['/v1/store/regions']?.get?.responses['200']?.headers ?? {});
    expect(declared.sort()).toStrictEqual(['Cache-Control', 'ETag', 'X-Cache', 'X-Request-Id']);
    expect(declared.filter((name) => !res.headers.has(name))).toStrictEqual([]);
  });
});
