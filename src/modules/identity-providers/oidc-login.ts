/**
 * "Sign in with <provider>": the storefront obtains an ID token from a configured OpenID Connect issuer and
 * trades it here for edgecart tokens. The token must be signed by the issuer's published keys, be issued by it,
 * for our client id, and be unexpired. Accounts link by (issuer, sub) first; an email links to an existing
 * account only when the issuer says it is verified, so nobody can claim an account with an unverified address.
 */
import { and, eq } from 'drizzle-orm';
import { createLocalJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { customers, externalIdentities, identityProviders } from '../../db/schema';
import type { Database } from '../../lib/db';
import { AppError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import type { CustomerRow } from '../customers/view';
import { getJwks, refetchJwks } from './jwks-cache';

const ALGORITHMS = ['RS256', 'ES256', 'EdDSA'];

type Provider = typeof identityProviders.$inferSelect;

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

async function verify(kv: KVNamespace, provider: Provider, idToken: string): Promise<JWTPayload> {
  const attempt = async (jwks: Awaited<ReturnType<typeof getJwks>>) =>
    (
      await jwtVerify(idToken, createLocalJWKSet(jwks), {
        issuer: provider.issuer,
        audience: provider.clientId,
        algorithms: ALGORITHMS,
        requiredClaims: ['sub', 'exp', 'iat'],
      })
    ).payload;
  try {
    return await attempt(await getJwks(kv, provider.jwksUrl));
  } catch (error) {
    if (error instanceof AppError) throw error;
    const code = (error as { code?: string }).code;
    // An unknown kid usually means the issuer rotated its keys since we cached them.
    if (code === 'ERR_JWKS_NO_MATCHING_KEY') {
      const fresh = await refetchJwks(kv, provider.jwksUrl);
      if (fresh) {
        try {
          return await attempt(fresh);
        } catch {
          throw rejected('The ID token is not signed by the provider.');
        }
      }
    }
    throw rejected(
      code === 'ERR_JWT_EXPIRED'
        ? 'The ID token has expired.'
        : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED'
          ? 'The ID token was not issued for this store.'
          : 'The ID token is not valid.',
    );
  }
}

export async function signInWithIdToken(
  db: Database,
  kv: KVNamespace,
  providerRef: string,
  idToken: string,
): Promise<CustomerRow> {
  const provider = await findProvider(db, providerRef);
  const claims = await verify(kv, provider, idToken);
  const subject = claims.sub as string;
  const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : null;
  const emailVerified = claims.email_verified === true;

  const linked = await db
    .select({ customer: customers })
    .from(externalIdentities)
    .innerJoin(customers, eq(customers.id, externalIdentities.customerId))
    .where(and(eq(externalIdentities.issuer, provider.issuer), eq(externalIdentities.subject, subject)))
    .get();
  if (linked) return linked.customer;

  const existing = email
    ? await db.select().from(customers).where(eq(customers.email, email)).get()
    : undefined;
  if (existing) {
    if (!emailVerified) {
      throw new AppError(
        409,
        'email_not_verified',
        'Sign in with your password once to link this provider, or verify the email with the provider.',
      );
    }
    await db.insert(externalIdentities).values({ issuer: provider.issuer, subject, customerId: existing.id });
    return existing;
  }

  const id = newId('cus');
  const now = new Date();
  await db.batch([
    db.insert(customers).values({
      id,
      email,
      emailVerifiedAt: email && emailVerified ? now : null,
      firstName: typeof claims.given_name === 'string' ? claims.given_name.slice(0, 100) : null,
      lastName: typeof claims.family_name === 'string' ? claims.family_name.slice(0, 100) : null,
    }),
    db.insert(externalIdentities).values({ issuer: provider.issuer, subject, customerId: id }),
  ]);
  return (await db.select().from(customers).where(eq(customers.id, id)).get()) as CustomerRow;
}
