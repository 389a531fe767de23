import { z } from '@hono/zod-openapi';
import { adminRoute } from '../../auth/permissions';
import { idempotencyKeyHeaders, jsonBody, jsonContent, problems } from '../../lib/openapi';
import { PaginationQuery } from '../../lib/pagination';
import {
  AdjustmentBody,
  AdminInventorySchema,
  AdminReservationListSchema,
  InventorySettingsBody,
  SetOnHandBody,
  VariantParams,
} from './admin-schemas';

const tags = ['Admin: inventory'];

/** A count or an adjustment retried with its key is not applied again (the object applies a change id once). */
const OptionalIdempotencyKey = idempotencyKeyHeaders(
  false,
  'The change is made once per key, for the caller and the variant, and the key is kept with the variant’s ' +
    'stock history for good: a retry gets the stock as it is now, with `Idempotent-Replayed: true`, at once ' +
    'even while the first request runs; the same key with another count, delta or reason is 422 ' +
    '`idempotency_key_reused`.',
);

export const getInventory = adminRoute('inventory:read', {
  method: 'get',
  path: '/inventory/{variant_id}',
  tags,
  summary: 'Stock of a variant: on hand, reserved, available, level and settings',
  request: { params: VariantParams },
  responses: {
    200: jsonContent(AdminInventorySchema, 'The variant’s stock'),
    ...problems(401, 403, 404, 422),
  },
});

export const setOnHand = adminRoute('inventory:write', {
  method: 'put',
  path: '/inventory/{variant_id}',
  tags,
  summary: 'Set the units on hand (a count), with a reason',
  request: { params: VariantParams, headers: OptionalIdempotencyKey, body: jsonBody(SetOnHandBody) },
  responses: {
    200: jsonContent(AdminInventorySchema, 'The variant’s stock after the change'),
    ...problems(400, 401, 403, 404, 422),
  },
});

export const updateSettings = adminRoute('inventory:write', {
  method: 'patch',
  path: '/inventory/{variant_id}',
  tags,
  summary: 'Change the low-stock threshold or the backorder policy',
  request: { params: VariantParams, body: jsonBody(InventorySettingsBody) },
  responses: {
    200: jsonContent(AdminInventorySchema, 'The variant’s stock with its new settings'),
    ...problems(400, 401, 403, 404, 422),
  },
});

export const adjustOnHand = adminRoute('inventory:write', {
  method: 'post',
  path: '/inventory/{variant_id}/adjustments',
  tags,
  summary: 'Add or remove units on hand, with a reason',
  request: { params: VariantParams, headers: OptionalIdempotencyKey, body: jsonBody(AdjustmentBody) },
  responses: {
    200: jsonContent(AdminInventorySchema, 'The variant’s stock after the change'),
    ...problems(400, 401, 403, 404, 409, 422),
  },
});

export const listReservations = adminRoute('inventory:read', {
  method: 'get',
  path: '/inventory/{variant_id}/reservations',
  tags,
  summary: 'Unexpired reservations of a variant, by id',
  request: { params: VariantParams, query: z.object(PaginationQuery) },
  responses: {
    200: jsonContent(AdminReservationListSchema, 'A page of reservations'),
    ...problems(401, 403, 404, 422),
  },
});
