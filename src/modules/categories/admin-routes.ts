import { adminRoute } from '../../auth/permissions';
import { IdParams } from '../../lib/catalog-fields';
import { jsonBody, jsonContent, LocationHeader, problems } from '../../lib/openapi';
import {
  AdminCategoryListSchema,
  AdminCategorySchema,
  CreateCategoryBody,
  ListCategoriesQuery,
  UpdateCategoryBody,
} from './admin-schemas';

const tags = ['Admin: categories'];

export const createCategory = adminRoute('catalog:write', {
  method: 'post',
  path: '/categories',
  tags,
  summary: 'Create a category',
  request: { body: jsonBody(CreateCategoryBody) },
  responses: {
    201: { ...jsonContent(AdminCategorySchema, 'The created category'), headers: LocationHeader },
    ...problems(400, 401, 403, 409, 422),
  },
});

export const listCategories = adminRoute('catalog:read', {
  method: 'get',
  path: '/categories',
  tags,
  summary: 'List categories in creation order',
  request: { query: ListCategoriesQuery },
  responses: {
    200: jsonContent(AdminCategoryListSchema, 'A page of categories'),
    ...problems(401, 403, 422),
  },
});

export const getCategory = adminRoute('catalog:read', {
  method: 'get',
  path: '/categories/{id}',
  tags,
  summary: 'Get a category',
  request: { params: IdParams },
  responses: { 200: jsonContent(AdminCategorySchema, 'The category'), ...problems(401, 403, 404) },
});

export const updateCategory = adminRoute('catalog:write', {
  method: 'patch',
  path: '/categories/{id}',
  tags,
  summary: 'Change or move a category',
  request: { params: IdParams, body: jsonBody(UpdateCategoryBody) },
  responses: {
    200: jsonContent(AdminCategorySchema, 'The updated category'),
    ...problems(400, 401, 403, 404, 409, 422),
  },
});

export const deleteCategory = adminRoute('catalog:write', {
  method: 'delete',
  path: '/categories/{id}',
  tags,
  summary: 'Delete a category without subcategories; its products leave it',
  request: { params: IdParams },
  responses: { 204: { description: 'Deleted' }, ...problems(401, 403, 404, 409) },
});
