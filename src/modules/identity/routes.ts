import { jsonContent, publicRoute } from '../../lib/openapi';
import { JwksSchema } from './schemas';

export const jwks = publicRoute({
  method: 'get',
  path: '/.well-known/jwks.json',
  tags: ['Auth'],
  summary: 'Public keys that verify edgecart access tokens',
  responses: { 200: jsonContent(JwksSchema, 'The JSON Web Key Set (RFC 7517)') },
});
