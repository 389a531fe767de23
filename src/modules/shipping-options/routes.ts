import { adminRoute } from '../../auth/permissions';
import { jsonBody, jsonContent, LocationHeader, problems } from '../../lib/openapi';
import {
  CreateShippingOptionBody,
  ShippingOptionListQuery,
  ShippingOptionListSchema,
  ShippingOptionParams,
  ShippingOptionSchema,
  UpdateShippingOptionBody,
} from './schemas';

const tags = ['Admin: shipping options'];

export const createShippingOption = adminRoute('shipping:manage', {
  method: 'post',
  path: '/shipping-options',
  tags,
  summary: 'Create a shipping option for a region',
  request: { body: jsonBody(CreateShippingOptionBody) },
  responses: {
    201: { ...jsonContent(ShippingOptionSchema, 'The created option'), headers: LocationHeader },
    ...problems(400, 401, 403, 415, 422),
  },
});

export const listShippingOptions = adminRoute('shipping:manage', {
  method: 'get',
  path: '/shipping-options',
  tags,
  summary: 'List shipping options, newest first',
  request: { query: ShippingOptionListQuery },
  responses: {
    200: jsonContent(ShippingOptionListSchema, 'A page of shipping options'),
    ...problems(401, 403, 422),
  },
});

export const getShippingOption = adminRoute('shipping:manage', {
  method: 'get',
  path: '/shipping-options/{id}',
  tags,
  summary: 'Get a shipping option',
  request: { params: ShippingOptionParams },
  responses: { 200: jsonContent(ShippingOptionSchema, 'The option'), ...problems(401, 403, 404) },
});

export const updateShippingOption = adminRoute('shipping:manage', {
  method: 'patch',
  path: '/shipping-options/{id}',
  tags,
  summary: 'Change a shipping option (its region stays)',
  request: { params: ShippingOptionParams, body: jsonBody(UpdateShippingOptionBody) },
  responses: {
    200: jsonContent(ShippingOptionSchema, 'The updated option'),
    ...problems(400, 401, 403, 404, 415, 422),
  },
});

export const deleteShippingOption = adminRoute('shipping:manage', {
  method: 'delete',
  path: '/shipping-options/{id}',
  tags,
  summary: 'Delete a shipping option (carts that chose it show none)',
  request: { params: ShippingOptionParams },
  responses: { 204: { description: 'Deleted' }, ...problems(401, 403, 404) },
});
