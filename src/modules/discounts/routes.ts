import { adminRoute } from '../../auth/permissions';
import { jsonBody, jsonContent, LocationHeader, problems } from '../../lib/openapi';
import {
  CreateDiscountBody,
  DiscountListQuery,
  DiscountListSchema,
  DiscountParams,
  DiscountSchema,
  UpdateDiscountBody,
} from './schemas';

const tags = ['Admin: discounts'];

export const createDiscount = adminRoute('discounts:manage', {
  method: 'post',
  path: '/discounts',
  tags,
  summary: 'Create a discount code',
  request: { body: jsonBody(CreateDiscountBody) },
  responses: {
    201: { ...jsonContent(DiscountSchema, 'The created discount'), headers: LocationHeader },
    ...problems(400, 401, 403, 409, 415, 422),
  },
});

export const listDiscounts = adminRoute('discounts:manage', {
  method: 'get',
  path: '/discounts',
  tags,
  summary: 'List discounts, newest first, with how often each was used',
  request: { query: DiscountListQuery },
  responses: { 200: jsonContent(DiscountListSchema, 'A page of discounts'), ...problems(401, 403, 422) },
});

export const getDiscount = adminRoute('discounts:manage', {
  method: 'get',
  path: '/discounts/{id}',
  tags,
  summary: 'Get a discount',
  request: { params: DiscountParams },
  responses: { 200: jsonContent(DiscountSchema, 'The discount'), ...problems(401, 403, 404) },
});

export const updateDiscount = adminRoute('discounts:manage', {
  method: 'patch',
  path: '/discounts/{id}',
  tags,
  summary: 'Change a discount (carts using its code see the change at once)',
  request: { params: DiscountParams, body: jsonBody(UpdateDiscountBody) },
  responses: {
    200: jsonContent(DiscountSchema, 'The updated discount'),
    ...problems(400, 401, 403, 404, 409, 415, 422),
  },
});

export const deleteDiscount = adminRoute('discounts:manage', {
  method: 'delete',
  path: '/discounts/{id}',
  tags,
  summary: 'Delete a discount no order has redeemed (otherwise deactivate it)',
  request: { params: DiscountParams },
  responses: { 204: { description: 'Deleted' }, ...problems(401, 403, 404, 409) },
});
