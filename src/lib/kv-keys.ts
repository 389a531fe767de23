/**
 * Every KV key the Worker reads or writes, in one place (the storage contract in docs/ARCHITECTURE.md lists
 * them too). KV is eventually consistent: only values that may lag briefly live here.
 */
export const KV_KEYS = {
  /** Never written: `/ready` reads it to see that KV answers. */
  readinessProbe: 'system:ready-probe',
  /** An external OpenID issuer's JSON Web Key Set, by its URL. Value: the JWKS JSON. TTL: 1 hour. */
  externalJwks: (url: string) => `oidc:jwks:${url}`,
} as const;
