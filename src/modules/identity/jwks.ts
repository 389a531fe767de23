import { createRoute, z } from '@hono/zod-openapi';
import { publicJwks } from '../../lib/jwt';
import { createRouter, jsonContent } from '../../lib/openapi';

const JwksSchema = z
  .object({
    keys: z.array(
      z.object({
        kty: z.literal('OKP'),
        crv: z.literal('Ed25519'),
        x: z.string(),
        kid: z.string(),
        alg: z.literal('EdDSA'),
        use: z.literal('sig'),
      }),
    ),
  })
  .openapi('JsonWebKeySet');

const jwksRoute = createRoute({
  method: 'get',
  path: '/.well-known/jwks.json',
  tags: ['Auth'],
  summary: 'Public keys that verify edgecart access tokens',
  responses: { 200: jsonContent(JwksSchema, 'The JSON Web Key Set (RFC 7517)') },
});

export const jwksRouter = createRouter().openapi(jwksRoute, async (c) => {
  c.header('Cache-Control', 'public, max-age=300');
  return c.json((await publicJwks(c.env)) as z.infer<typeof JwksSchema>, 200);
});
