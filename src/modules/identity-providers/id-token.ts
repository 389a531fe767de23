/**
 * Verifies an ID token from a configured OpenID Connect issuer: signed by a key in the issuer's JWKS with an
 * asymmetric algorithm, `iss` = the issuer, `aud` = our client id, unexpired, and carrying the `nonce` the
 * storefront sent to the issuer when it sends one here. A token signed with a kid we do not know makes one
 * forced JWKS refetch (the issuer rotated its keys).
 */
import { eq } from 'drizzle-orm';
import { createLocalJWKSet, type JSONWebKeySet, type JWTPayload, jwtVerify } from 'jose';
import { identityProviders } from '../../db/schema';
import type { Database } from '../../lib/db';
import { AppError } from '../../lib/errors';
import { getJwks, type JwksContext, refetchJwks } from './jwks-cache';

const ALGORITHMS = ['RS256', 'ES256', 'EdDSA'];

export type Provider = typeof identityProviders.$inferSelect;

const rejected = (detail: string) =>
  new AppError(401, 'invalid_id_token', detail, {
    headers: { 'WWW-Authenticate': 'Bearer realm="edgecart", error="invalid_token"' },
  });

export async function findProvider(db: Database, idOrIssuer: string): Promise<Provider> {
  const provider = await db
    .select()
    .from(identityProviders)
    .where(eq(idOrIssuer.startsWith('idp_') ? identityProviders.id : identityProviders.issuer, idOrIssuer))
    .get();
  if (!provider?.enabled) {
    throw new AppError(422, 'unknown_identity_provider', 'That sign-in provider is not configured.', {
      errors: [{ pointer: '/body/provider', message: 'Use the id or issuer of an enabled provider' }],
    });
  }
  return provider;
}

function reason(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === 'ERR_JWT_EXPIRED') return 'The ID token has expired.';
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') return 'The ID token was not issued for this store.';
  if (code === 'ERR_JWKS_NO_MATCHING_KEY') return 'The ID token is not signed by the provider.';
  return 'The ID token is not valid.';
}

export async function verifyIdToken(
  jwksContext: JwksContext,
  provider: Provider,
  idToken: string,
  nonce: string | undefined,
): Promise<JWTPayload & { sub: string }> {
  const attempt = async (jwks: JSONWebKeySet) =>
    (
      await jwtVerify(idToken, createLocalJWKSet(jwks), {
        issuer: provider.issuer,
        audience: provider.clientId,
        algorithms: ALGORITHMS,
        requiredClaims: ['sub', 'exp', 'iat'],
      })
    ).payload;
  let payload: JWTPayload;
  try {
    payload = await attempt(await getJwks(jwksContext, provider.jwksUrl));
  } catch (error) {
    if (error instanceof AppError) throw error;
    const fresh =
      (error as { code?: string }).code === 'ERR_JWKS_NO_MATCHING_KEY'
        ? await refetchJwks(jwksContext, provider.jwksUrl)
        : undefined;
    if (!fresh) throw rejected(reason(error));
    try {
      payload = await attempt(fresh);
    } catch (retryError) {
      throw rejected(reason(retryError));
    }
  }
  if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 255) {
    throw rejected('The ID token names no subject.');
  }
  if (nonce !== undefined && payload.nonce !== nonce) {
    throw rejected('The ID token was issued for another sign-in attempt.');
  }
  return { ...payload, sub: payload.sub };
}
