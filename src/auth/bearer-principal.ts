/**
 * The principal behind an `Authorization: Bearer ...` header on a route that serves every kind of caller (the
 * live tickets route): a customer access token, a staff access token or a secret key, each checked exactly as
 * its own surface's guard checks it (session active, account active, MFA for the roles that need it, key not
 * revoked). Also answers when the credential stops being valid, so what it grants can end with it.
 */
import { decodeJwt } from 'jose';
import { AppError } from '../lib/errors';
import { invalidToken } from '../lib/jwt';
import type { Principal } from '../lib/permissions';
import { bearerToken, REALMS } from './bearer';
import { customerPrincipal } from './require-customer';
import { invalidApiKey, verifySecretKey } from './secret-key';
import { staffPrincipal } from './staff-principal';

export type BearerPrincipal = {
  principal: Principal;
  /** Epoch ms when the token expires; null for a secret key, valid until revoked. */
  expiresAt: number | null;
};

/** Null without an Authorization header; a header that proves nothing is the 401 its guard would answer. */
export async function bearerPrincipal(
  env: Env,
  authorization: string | undefined,
): Promise<BearerPrincipal | null> {
  if (authorization === undefined) return null;
  const token = bearerToken(authorization);
  if (!token) {
    throw new AppError(401, 'unauthenticated', 'Send the credential as `Authorization: Bearer ...`.', {
      headers: { 'WWW-Authenticate': REALMS.store },
    });
  }
  if (token.startsWith('sk_') || token.startsWith('pk_')) {
    const key = await verifySecretKey(env.DB, token);
    if (!key) throw invalidApiKey();
    return { principal: { type: 'secret_key', id: key.id, permissions: key.permissions }, expiresAt: null };
  }
  // The audience only picks the check; each check verifies the whole token again.
  let audience: unknown;
  try {
    audience = decodeJwt(token).aud;
  } catch {
    throw invalidToken('malformed token');
  }
  if (audience === 'edgecart:admin') {
    const principal = await staffPrincipal(env, token);
    return { principal, expiresAt: (decodeJwt(token).exp ?? 0) * 1000 };
  }
  const principal = await customerPrincipal(env, authorization);
  return { principal, expiresAt: (decodeJwt(token).exp ?? 0) * 1000 };
}
