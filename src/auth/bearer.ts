import { AppError } from '../lib/errors';

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return header?.startsWith('Bearer ') ? header.slice(7).trim() || undefined : undefined;
}

/** The surfaces' challenges: storefront customers, and the admin side (staff tokens and secret keys). */
export const REALMS = { store: 'Bearer realm="edgecart"', admin: 'Bearer realm="edgecart-admin"' } as const;

/**
 * The bearer token a guard needs, or the 401 `unauthenticated` with the surface's challenge (RFC 6750), saying
 * what to send.
 */
export function requireBearer(header: string | undefined, realm: keyof typeof REALMS, what: string): string {
  const token = bearerToken(header);
  if (token) return token;
  throw new AppError(401, 'unauthenticated', what, { headers: { 'WWW-Authenticate': REALMS[realm] } });
}
