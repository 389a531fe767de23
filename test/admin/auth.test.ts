import { describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../../src/lib/permissions';
import { expectRejected, revokedKey } from '../helpers/admin-fixtures';
import { call } from '../helpers/http';

/** Every admin catalog route, with a body that would be valid enough to reach the handler. */
const ROUTES: [method: string, path: string, body?: unknown][] = [
  ['POST', '/regions', { code: 'x' }],
  ['GET', '/regions'],
  ['GET', '/regions/reg_x'],
  ['PATCH', '/regions/reg_x', { name: 'x' }],
  ['DELETE', '/regions/reg_x'],
  ['POST', '/products', { handle: 'x' }],
  ['GET', '/products'],
  ['GET', '/products/prod_x'],
  ['PATCH', '/products/prod_x', { status: 'active' }],
  ['POST', '/products/prod_x/archive'],
  ['DELETE', '/products/prod_x'],
  ['POST', '/products/prod_x/variants', { sku: 'x' }],
  ['PATCH', '/variants/var_x', { title: 'x' }],
  ['DELETE', '/variants/var_x'],
  ['PUT', '/variants/var_x/prices', { prices: [] }],
  ['POST', '/categories', { handle: 'x' }],
  ['GET', '/categories'],
  ['GET', '/categories/cat_x'],
  ['PATCH', '/categories/cat_x', { position: 1 }],
  ['DELETE', '/categories/cat_x'],
  ['POST', '/collections', { handle: 'x' }],
  ['GET', '/collections'],
  ['GET', '/collections/col_x'],
  ['PATCH', '/collections/col_x', { product_ids: [] }],
  ['DELETE', '/collections/col_x'],
];

function send(method: string, path: string, body: unknown, authorization?: string) {
  const headers: Record<string, string> = authorization ? { Authorization: authorization } : {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return call(`/v1/admin${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

describe.each(ROUTES)('%s /v1/admin%s', (method, path, body) => {
  it('refuses a request without a key with 401 and a challenge', async () => {
    await expectRejected(
      async () => {
        const res = await send(method, path, body);
        expect(res.headers.get('WWW-Authenticate')).toBe('Bearer realm="edgecart-admin"');
        return res;
      },
      401,
      'unauthenticated',
    );
  });

  it('refuses a revoked key with 401', async () => {
    const key = await revokedKey();
    await expectRejected(() => send(method, path, body, `Bearer ${key}`), 401, 'invalid_credentials');
  });

  it('refuses a malformed key with 401', async () => {
    await expectRejected(
      () => send(method, path, body, 'Bearer sk_not_a_real_key'),
      401,
      'invalid_credentials',
    );
  });
});

describe('the OpenAPI document', () => {
  type Operation = { security?: unknown; 'x-permission'?: string };

  it('declares a permission and the staff-token and secret-key schemes on every admin catalog operation', async () => {
    const doc = await (await call('/openapi.json')).json<{
      paths: Record<string, Record<string, Operation>>;
    }>();
    const declared = Object.fromEntries(
      ROUTES.map(([method, path]) => {
        const template = `/v1/admin${path.replace(/\/(reg|prod|var|cat|col)_x/, '/{id}')}`;
        const operation = doc.paths[template]?.[method.toLowerCase()];
        expect(operation?.security, `${method} ${template}`).toStrictEqual([
          { staffToken: [] },
          { secretKey: [] },
        ]);
        return [`${method} ${template}`, operation?.['x-permission']];
      }),
    );
    expect(Object.values(declared).every((p) => PERMISSIONS.some((known) => known === p))).toBe(true);
    expect(declared).toMatchObject({
      'POST /v1/admin/regions': 'regions:write',
      'PATCH /v1/admin/regions/{id}': 'regions:write',
      'DELETE /v1/admin/regions/{id}': 'regions:write',
      'GET /v1/admin/regions': 'catalog:read',
      'GET /v1/admin/products/{id}': 'catalog:read',
      'POST /v1/admin/products': 'catalog:write',
      'PUT /v1/admin/variants/{id}/prices': 'catalog:write',
      'DELETE /v1/admin/categories/{id}': 'catalog:write',
      'PATCH /v1/admin/collections/{id}': 'catalog:write',
    });
  });
});
