import { z } from '@hono/zod-openapi';

export const JwksSchema = z
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

export type Jwks = z.infer<typeof JwksSchema>;
