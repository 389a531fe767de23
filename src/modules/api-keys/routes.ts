import { adminRoute } from '../../auth/permissions';
import { jsonBody, jsonContent, problems } from '../../lib/openapi';
import {
  ApiKeyIdParam,
  ApiKeyListQuery,
  ApiKeyPageSchema,
  ApiKeySchema,
  CreateApiKeyBody,
  CreatedApiKeySchema,
} from './schemas';

const tags = ['Admin: API keys'];

export const createApiKey = adminRoute('api_keys:manage', {
  method: 'post',
  path: '/api-keys',
  tags,
  summary: 'Create a secret or publishable key',
  description:
    'A secret key holds the listed permissions, never more than its creator holds; the `sk_...` value is shown ' +
    'once. A publishable key names a storefront and its default region. A key whose creator was disabled or ' +
    'changed role (a staff member) or revoked (a key) while the request ran is not created: 401, as the ' +
    'creator’s next request would get.',
  request: { body: jsonBody(CreateApiKeyBody) },
  responses: {
    201: jsonContent(CreatedApiKeySchema, 'The key'),
    ...problems(401, 403, 422),
  },
});

export const listApiKeys = adminRoute('api_keys:manage', {
  method: 'get',
  path: '/api-keys',
  tags,
  summary: 'List API keys, newest first',
  request: { query: ApiKeyListQuery },
  responses: {
    200: jsonContent(ApiKeyPageSchema, 'A page of keys'),
    ...problems(401, 403, 422),
  },
});

export const revokeApiKey = adminRoute('api_keys:manage', {
  method: 'post',
  path: '/api-keys/{id}/revoke',
  tags,
  summary: 'Revoke an API key',
  description:
    'Only a principal holding every permission of a secret key can revoke it. The secret keys it created, ' +
    'the secret keys those created, and their pending staff invitations are revoked in the same write ' +
    '(publishable keys grant nothing and stay), including keys and invitations created while the revoke ran: ' +
    'the database decides what to revoke as the write commits, and a key or invitation its creator would make ' +
    'after that is refused.',
  request: { params: ApiKeyIdParam },
  responses: {
    200: jsonContent(ApiKeySchema, 'The revoked key'),
    ...problems(401, 403, 404),
  },
});
