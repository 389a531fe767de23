import { z } from '@hono/zod-openapi';
import { adminRoute } from '../../auth/permissions';
import { IdParams } from '../../lib/catalog-fields';
import { jsonBody, jsonContent, LocationHeader, problems } from '../../lib/openapi';
import { PaginationQuery } from '../../lib/pagination';
import {
  AdminRegionListSchema,
  AdminRegionSchema,
  CreateRegionBody,
  UpdateRegionBody,
} from './admin-schemas';

const tags = ['Admin: regions'];

export const createRegion = adminRoute('regions:write', {
  method: 'post',
  path: '/regions',
  tags,
  summary: 'Create a region',
  request: { body: jsonBody(CreateRegionBody) },
  responses: {
    201: { ...jsonContent(AdminRegionSchema, 'The created region'), headers: LocationHeader },
    ...problems(400, 401, 403, 409, 422),
  },
});

export const listRegions = adminRoute('catalog:read', {
  method: 'get',
  path: '/regions',
  tags,
  summary: 'List regions, ordered by code',
  request: { query: z.object(PaginationQuery) },
  responses: { 200: jsonContent(AdminRegionListSchema, 'A page of regions'), ...problems(401, 403, 422) },
});

export const getRegion = adminRoute('catalog:read', {
  method: 'get',
  path: '/regions/{id}',
  tags,
  summary: 'Get a region',
  request: { params: IdParams },
  responses: { 200: jsonContent(AdminRegionSchema, 'The region'), ...problems(401, 403, 404) },
});

export const updateRegion = adminRoute('regions:write', {
  method: 'patch',
  path: '/regions/{id}',
  tags,
  summary: 'Change a region; `countries` replaces the list',
  request: { params: IdParams, body: jsonBody(UpdateRegionBody) },
  responses: {
    200: jsonContent(AdminRegionSchema, 'The updated region'),
    ...problems(400, 401, 403, 404, 409, 422),
  },
});

export const deleteRegion = adminRoute('regions:write', {
  method: 'delete',
  path: '/regions/{id}',
  tags,
  summary: 'Delete a region and free its countries',
  request: { params: IdParams },
  responses: { 204: { description: 'Deleted' }, ...problems(401, 403, 404, 409) },
});
