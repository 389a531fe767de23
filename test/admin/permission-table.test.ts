/**
 * What each admin operation must require, written out by hand and held apart from the route declarations: the
 * enforcement test (permission-enforcement.test.ts) reads each route's permission from the route itself, so a
 * route declared with a weaker permission would pass it. This table is the reviewed intent; the OpenAPI document
 * (`x-permission`, which is also what requirePermission enforces) must match it exactly, and every admin
 * operation must be in it. Adding or changing an admin route means editing this table on purpose.
 */
import { describe, expect, it } from 'vitest';
import type { Permission } from '../../src/lib/permissions';
import { call } from '../helpers/http';
import { adminOperations, type OpenApiDocument } from '../helpers/permission-table';

const REQUIRED: Record<string, Permission> = {
  'GET /v1/admin/api-keys': 'api_keys:manage',
  'POST /v1/admin/api-keys': 'api_keys:manage',
  'POST /v1/admin/api-keys/{id}/revoke': 'api_keys:manage',
  'GET /v1/admin/analytics/sales': 'orders:read',
  'GET /v1/admin/audit-log': 'audit:read',
  'GET /v1/admin/categories': 'catalog:read',
  'POST /v1/admin/categories': 'catalog:write',
  'GET /v1/admin/categories/{id}': 'catalog:read',
  'PATCH /v1/admin/categories/{id}': 'catalog:write',
  'DELETE /v1/admin/categories/{id}': 'catalog:write',
  'GET /v1/admin/collections': 'catalog:read',
  'POST /v1/admin/collections': 'catalog:write',
  'GET /v1/admin/collections/{id}': 'catalog:read',
  'PATCH /v1/admin/collections/{id}': 'catalog:write',
  'DELETE /v1/admin/collections/{id}': 'catalog:write',
  'GET /v1/admin/discounts': 'discounts:manage',
  'POST /v1/admin/discounts': 'discounts:manage',
  'GET /v1/admin/discounts/{id}': 'discounts:manage',
  'PATCH /v1/admin/discounts/{id}': 'discounts:manage',
  'DELETE /v1/admin/discounts/{id}': 'discounts:manage',
  'GET /v1/admin/events/dead-letters': 'webhooks:manage',
  'GET /v1/admin/events/dead-letters/{id}': 'webhooks:manage',
  'POST /v1/admin/events/dead-letters/{id}/replay': 'webhooks:manage',
  'GET /v1/admin/identity-providers': 'settings:manage',
  'POST /v1/admin/identity-providers': 'settings:manage',
  'PATCH /v1/admin/identity-providers/{id}': 'settings:manage',
  'DELETE /v1/admin/identity-providers/{id}': 'settings:manage',
  'GET /v1/admin/inventory/{variant_id}': 'inventory:read',
  'PUT /v1/admin/inventory/{variant_id}': 'inventory:write',
  'PATCH /v1/admin/inventory/{variant_id}': 'inventory:write',
  'POST /v1/admin/inventory/{variant_id}/adjustments': 'inventory:write',
  'GET /v1/admin/inventory/{variant_id}/reservations': 'inventory:read',
  'GET /v1/admin/products': 'catalog:read',
  'POST /v1/admin/products': 'catalog:write',
  'GET /v1/admin/products/{id}': 'catalog:read',
  'PATCH /v1/admin/products/{id}': 'catalog:write',
  'DELETE /v1/admin/products/{id}': 'catalog:write',
  'POST /v1/admin/products/{id}/archive': 'catalog:write',
  'POST /v1/admin/products/{id}/variants': 'catalog:write',
  'GET /v1/admin/regions': 'catalog:read',
  'POST /v1/admin/regions': 'regions:write',
  'GET /v1/admin/regions/{id}': 'catalog:read',
  'PATCH /v1/admin/regions/{id}': 'regions:write',
  'DELETE /v1/admin/regions/{id}': 'regions:write',
  'GET /v1/admin/shipping-options': 'shipping:manage',
  'POST /v1/admin/shipping-options': 'shipping:manage',
  'GET /v1/admin/shipping-options/{id}': 'shipping:manage',
  'PATCH /v1/admin/shipping-options/{id}': 'shipping:manage',
  'DELETE /v1/admin/shipping-options/{id}': 'shipping:manage',
  'GET /v1/admin/staff': 'staff:manage',
  'GET /v1/admin/staff/invites': 'staff:manage',
  'POST /v1/admin/staff/invites': 'staff:manage',
  'POST /v1/admin/staff/invites/{id}/revoke': 'staff:manage',
  'GET /v1/admin/staff/{id}': 'staff:manage',
  'PATCH /v1/admin/staff/{id}': 'staff:manage',
  'POST /v1/admin/staff/{id}/mfa/reset': 'staff:manage',
  'PATCH /v1/admin/variants/{id}': 'catalog:write',
  'DELETE /v1/admin/variants/{id}': 'catalog:write',
  'PUT /v1/admin/variants/{id}/prices': 'catalog:write',
  'GET /v1/admin/webhooks': 'webhooks:manage',
  'POST /v1/admin/webhooks': 'webhooks:manage',
  'GET /v1/admin/webhooks/{id}': 'webhooks:manage',
  'PATCH /v1/admin/webhooks/{id}': 'webhooks:manage',
  'DELETE /v1/admin/webhooks/{id}': 'webhooks:manage',
  'GET /v1/admin/webhooks/{id}/deliveries': 'webhooks:manage',
  'POST /v1/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver': 'webhooks:manage',
  'POST /v1/admin/webhooks/{id}/replay': 'webhooks:manage',
  'POST /v1/admin/webhooks/{id}/rotate-secret': 'webhooks:manage',
  'POST /v1/admin/webhooks/{id}/test': 'webhooks:manage',
};

describe('admin permissions match the reviewed table', () => {
  it('requires exactly the tabled permission on every admin operation, and tables every operation', async () => {
    const doc = (await (await call('/openapi.json')).json()) as OpenApiDocument;
    const declared = Object.fromEntries(
      adminOperations(doc).map((op) => [`${op.method} ${op.path}`, op.permission]),
    );
    expect(declared).toStrictEqual(REQUIRED);
  });
});
