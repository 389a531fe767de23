import { adminRoute } from '../../auth/permissions';
import { IdParams } from '../../lib/catalog-fields';
import { jsonBody, jsonContent, LocationHeader, problems } from '../../lib/openapi';
import {
  AdminCollectionListSchema,
  AdminCollectionSchema,
  CreateCollectionBody,
  ListCollectionsQuery,
  UpdateCollectionBody,
} from './admin-schemas';

const tags = ['Admin: collections'];

export const createCollection = adminRoute('catalog:write', {
  method: 'post',
  path: '/collections',
  tags,
  summary: 'Create a collection',
  request: { body: jsonBody(CreateCollectionBody) },
  responses: {
    201: { ...jsonContent(AdminCollectionSchema, 'The created collection'), headers: LocationHeader },
    ...problems(400, 401, 403, 409, 422),
  },
});

export const listCollections = adminRoute('catalog:read', {
  method: 'get',
  path: '/collections',
  tags,
  summary: 'List collections in creation order',
  request: { query: ListCollectionsQuery },
  responses: {
    200: jsonContent(AdminCollectionListSchema, 'A page of collections'),
    ...problems(401, 403, 422),
  },
});

export const getCollection = adminRoute('catalog:read', {
  method: 'get',
  path: '/collections/{id}',
  tags,
  summary: 'Get a collection',
  request: { params: IdParams },
  responses: { 200: jsonContent(AdminCollectionSchema, 'The collection'), ...problems(401, 403, 404) },
});

export const updateCollection = adminRoute('catalog:write', {
  method: 'patch',
  path: '/collections/{id}',
  tags,
  summary: 'Change a collection; `product_ids` replaces its products',
  request: { params: IdParams, body: jsonBody(UpdateCollectionBody) },
  responses: {
    200: jsonContent(AdminCollectionSchema, 'The updated collection'),
    ...problems(400, 401, 403, 404, 409, 422),
  },
});

export const deleteCollection = adminRoute('catalog:write', {
  method: 'delete',
  path: '/collections/{id}',
  tags,
  summary: 'Delete a collection (its products stay)',
  request: { params: IdParams },
  responses: { 204: { description: 'Deleted' }, ...problems(401, 403, 404) },
});
