import { adminRoute } from '../../auth/permissions';
import { IdParams } from '../../lib/catalog-fields';
import { jsonBody, jsonContent, LocationHeader, problems } from '../../lib/openapi';
import {
  AdminProductListSchema,
  AdminProductSchema,
  CreateProductBody,
  ListProductsQuery,
  UpdateProductBody,
} from './admin-schemas';

const tags = ['Admin: products'];

export const createProduct = adminRoute('catalog:write', {
  method: 'post',
  path: '/products',
  tags,
  summary: 'Create a product with its translations, options, variants, prices, links and images',
  request: { body: jsonBody(CreateProductBody) },
  responses: {
    201: { ...jsonContent(AdminProductSchema, 'The created product'), headers: LocationHeader },
    ...problems(400, 401, 403, 409, 422),
  },
});

export const listProducts = adminRoute('catalog:read', {
  method: 'get',
  path: '/products',
  tags,
  summary: 'List products in creation order, optionally by status or matching a search text',
  request: { query: ListProductsQuery },
  responses: { 200: jsonContent(AdminProductListSchema, 'A page of products'), ...problems(401, 403, 422) },
});

export const getProduct = adminRoute('catalog:read', {
  method: 'get',
  path: '/products/{id}',
  tags,
  summary: 'Get a product with all translations and prices',
  request: { params: IdParams },
  responses: { 200: jsonContent(AdminProductSchema, 'The product'), ...problems(401, 403, 404) },
});

export const updateProduct = adminRoute('catalog:write', {
  method: 'patch',
  path: '/products/{id}',
  tags,
  summary: 'Change a product',
  request: { params: IdParams, body: jsonBody(UpdateProductBody) },
  responses: {
    200: jsonContent(AdminProductSchema, 'The updated product'),
    ...problems(400, 401, 403, 404, 409, 422),
  },
});

export const archiveProduct = adminRoute('catalog:write', {
  method: 'post',
  path: '/products/{id}/archive',
  tags,
  summary: 'Archive a product (the same as setting its status to archived)',
  request: { params: IdParams },
  responses: { 200: jsonContent(AdminProductSchema, 'The archived product'), ...problems(401, 403, 404) },
});

export const deleteProduct = adminRoute('catalog:write', {
  method: 'delete',
  path: '/products/{id}',
  tags,
  summary: 'Delete a product with its variants, prices, translations and images',
  request: { params: IdParams },
  responses: { 204: { description: 'Deleted' }, ...problems(401, 403, 404) },
});
