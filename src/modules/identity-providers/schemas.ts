import { z } from '@hono/zod-openapi';

// The outbound URL guard (src/lib/url-guard.ts) decides which hosts, ports and schemes may be stored (422
// `url_not_allowed`); http is there only for a local issuer outside production.
const ProviderUrl = z
  .url({ protocol: /^https?$/, error: 'Must be an https URL' })
  .max(500)
  .openapi({
    description: 'https, default port, a public host (see "Outbound URLs" in docs/ARCHITECTURE.md)',
  });

export const OidcLoginSchema = z
  .object({
    provider: z.string().min(1).max(500).openapi({ description: 'Provider id (idp_...) or issuer URL' }),
    id_token: z.string().min(1).max(8192),
    nonce: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .openapi({ description: 'The nonce the storefront sent to the provider; the ID token must carry it' }),
  })
  .strict()
  .openapi('OidcLogin');

export const IdentityProviderInputSchema = z
  .object({
    name: z.string().trim().min(1).max(100).openapi({ example: 'Google' }),
    issuer: ProviderUrl.openapi({ example: 'https://accounts.google.com' }),
    client_id: z.string().min(1).max(500),
    jwks_url: ProviderUrl.openapi({ example: 'https://www.googleapis.com/oauth2/v3/certs' }),
    enabled: z.boolean().optional(),
  })
  .strict()
  .openapi('IdentityProviderInput');

export const IdentityProviderUpdateSchema = IdentityProviderInputSchema.partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'Send at least one field to change')
  .openapi('IdentityProviderUpdate');

export const IdentityProviderSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    issuer: z.string(),
    client_id: z.string(),
    jwks_url: z.string(),
    enabled: z.boolean(),
    created_at: z.string(),
  })
  .openapi('IdentityProvider');

export const ProviderParams = z.object({
  id: z
    .string()
    .regex(/^idp_[0-9A-Z]{26}$/)
    .openapi({ param: { name: 'id', in: 'path' } }),
});

export type IdentityProviderInput = z.infer<typeof IdentityProviderInputSchema>;
export type IdentityProviderUpdate = z.infer<typeof IdentityProviderUpdateSchema>;
