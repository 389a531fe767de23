import { adminRoute } from '../../auth/permissions';
import { IdParams } from '../../lib/catalog-fields';
import { jsonBody, jsonContent, LocationHeader, problems } from '../../lib/openapi';
import {
  AdminVariantSchema,
  CreateVariantBody,
  PutPricesBody,
  UpdateVariantBody,
} from './admin-variant-schemas';

const tags = ['Admin: products'];

export const createVariant = adminRoute('catalog:write', {
  method: 'post',
  path: '/products/{id}/variants',
  tags,
  summary: 'Add a variant to a product',
  request: { params: IdParams, body: jsonBody(CreateVariantBody) },
  responses: {
    201: { ...jsonContent(AdminVariantSchema, 'The created variant'), headers: LocationHeader },
    ...problems(400, 401, 403, 404, 409, 422),
  },
});

export const updateVariant = adminRoute('catalog:write', {
  method: 'patch',
  path: '/variants/{id}',
  tags,
  summary: 'Change a variant',
  request: { params: IdParams, body: jsonBody(UpdateVariantBody) },
  responses: {
    200: jsonContent(AdminVariantSchema, 'The updated variant'),
    ...problems(400, 401, 403, 404, 409, 422),
  },
});

export const deleteVariant = adminRoute('catalog:write', {
  method: 'delete',
  path: '/variants/{id}',
  tags,
  summary: 'Delete a variant and its prices',
  request: { params: IdParams },
  responses: { 204: { description: 'Deleted' }, ...problems(401, 403, 404) },
});

export const replacePrices = adminRoute('catalog:write', {
  method: 'put',
  path: '/variants/{id}/prices',
  tags,
  summary: 'Replace the price list of a variant',
  request: { params: IdParams, body: jsonBody(PutPricesBody) },
  responses: {
    200: jsonContent(AdminVariantSchema, 'The variant with its new prices'),
    ...problems(400, 401, 403, 404, 422),
  },
});
