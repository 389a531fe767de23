import { z } from '@hono/zod-openapi';
import { adminRoute } from '../../auth/permissions';
import { jsonBody, jsonContent, LocationHeader, problems } from '../../lib/openapi';
import {
  IdentityProviderInputSchema,
  IdentityProviderSchema,
  IdentityProviderUpdateSchema,
  ProviderParams,
} from './schemas';

const tags = ['Admin: identity providers'];

export const createProvider = adminRoute('settings:manage', {
  method: 'post',
  path: '/identity-providers',
  tags,
  summary: 'Configure an external OpenID Connect issuer shoppers may sign in with',
  request: { body: jsonBody(IdentityProviderInputSchema) },
  responses: {
    201: { ...jsonContent(IdentityProviderSchema, 'Created'), headers: LocationHeader },
    ...problems(400, 401, 403, 409, 415, 422),
  },
});

export const listProviders = adminRoute('settings:manage', {
  method: 'get',
  path: '/identity-providers',
  tags,
  summary: 'Configured identity providers',
  responses: {
    200: jsonContent(
      z.object({ data: z.array(IdentityProviderSchema) }).openapi('IdentityProviderList'),
      'Providers',
    ),
    ...problems(401, 403),
  },
});

export const updateProvider = adminRoute('settings:manage', {
  method: 'patch',
  path: '/identity-providers/{id}',
  tags,
  summary: 'Change or disable an identity provider',
  request: { params: ProviderParams, body: jsonBody(IdentityProviderUpdateSchema) },
  responses: {
    200: jsonContent(IdentityProviderSchema, 'Updated'),
    ...problems(400, 401, 403, 404, 409, 415, 422),
  },
});

export const deleteProvider = adminRoute('settings:manage', {
  method: 'delete',
  path: '/identity-providers/{id}',
  tags,
  summary: 'Remove an identity provider (linked accounts keep their other sign-in methods)',
  request: { params: ProviderParams },
  responses: { 204: { description: 'Deleted' }, ...problems(401, 403, 404, 422) },
});
