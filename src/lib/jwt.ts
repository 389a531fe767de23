/**
 * Access tokens: short-lived EdDSA (Ed25519) JWTs signed with jose. Keys come from the JWT_SIGNING_KEYS secret,
 * a JSON array of private JWKs: the first signs, every one verifies, so keys rotate by prepending a new key,
 * waiting one token lifetime, then dropping the old one. Public halves are served at /.well-known/jwks.json.
 *
 * Verification pins the algorithm and the key by `kid` before any signature check, which closes `alg: none`
 * and algorithm confusion (an HS256 token "signed" with the public key) by construction.
 */
import {
  type CryptoKey,
  decodeProtectedHeader,
  importJWK,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';
import { STAFF_ROLES, type StaffRole } from '../db/schema';
import { AppError } from './errors';

export type Audience = 'edgecart:store' | 'edgecart:admin';

export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
const ALGORITHM = 'EdDSA';
const TOKEN_TYPE = 'at+jwt';

export type AccessClaims = {
  sub: string;
  typ: 'customer' | 'staff';
  /** The session (refresh-token family) the token belongs to; revoking it ends the token's use. */
  sid: string;
  role?: StaffRole;
  perms?: string[];
  jti: string;
  iat: number;
  exp: number;
};

type KeySet = {
  signer: { kid: string; key: CryptoKey };
  verifiers: Map<string, CryptoKey>;
  publicJwks: JWK[];
};

let memo: { source: string; keys: Promise<KeySet> } | undefined;

async function loadKeys(source: string): Promise<KeySet> {
  const jwks = JSON.parse(source) as JWK[];
  if (!Array.isArray(jwks) || jwks.length === 0)
    throw new Error('JWT_SIGNING_KEYS must be a non-empty JSON array');
  const publicJwks: JWK[] = [];
  const verifiers = new Map<string, CryptoKey>();
  let signer: KeySet['signer'] | undefined;
  for (const jwk of jwks) {
    if (!jwk.kid || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.d) {
      throw new Error('Every JWT_SIGNING_KEYS entry must be an Ed25519 private JWK with a kid');
    }
    const publicJwk: JWK = { kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid: jwk.kid, alg: ALGORITHM, use: 'sig' };
    publicJwks.push(publicJwk);
    verifiers.set(jwk.kid, (await importJWK(publicJwk, ALGORITHM)) as CryptoKey);
    signer ??= { kid: jwk.kid, key: (await importJWK(jwk, ALGORITHM)) as CryptoKey };
  }
  return { signer: signer as KeySet['signer'], verifiers, publicJwks };
}

/** The signing key and the verifiers by kid; also signs live tickets (src/modules/live/tickets.ts). */
export function signingKeys(env: Env): Promise<KeySet> {
  if (memo?.source !== env.JWT_SIGNING_KEYS) {
    memo = { source: env.JWT_SIGNING_KEYS, keys: loadKeys(env.JWT_SIGNING_KEYS) };
  }
  return memo.keys;
}

export async function signAccessToken(
  env: Env,
  claims: { sub: string; typ: 'customer' | 'staff'; sid: string; role?: StaffRole; perms?: string[] },
  audience: Audience,
): Promise<{ token: string; expiresIn: number }> {
  const { signer } = await signingKeys(env);
  const { sub, ...custom } = claims;
  const token = await new SignJWT(custom)
    .setProtectedHeader({ alg: ALGORITHM, kid: signer.kid, typ: TOKEN_TYPE })
    .setIssuer(env.PUBLIC_URL)
    .setAudience(audience)
    .setSubject(sub)
    .setIssuedAt()
    .setNotBefore('0s')
    .setExpirationTime(`${ACCESS_TOKEN_TTL_SECONDS}s`)
    .setJti(crypto.randomUUID())
    .sign(signer.key);
  return { token, expiresIn: ACCESS_TOKEN_TTL_SECONDS };
}

/** 401 with the RFC 6750 challenge, so clients know to refresh or sign in again. */
export function invalidToken(description: string): AppError {
  return new AppError(401, 'invalid_token', `The access token is not valid: ${description}.`, {
    headers: {
      'WWW-Authenticate': `Bearer realm="edgecart", error="invalid_token", error_description="${description}"`,
    },
  });
}

const ROLES = new Set<unknown>(STAFF_ROLES);

/** Why jose refused a token, in words safe to put in the challenge (no claim values). */
function failureDescription(error: unknown): string {
  const { code, claim, reason } = error as { code?: string; claim?: string; reason?: string };
  if (code === 'ERR_JWT_EXPIRED') return 'token expired';
  if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return 'signature verification failed';
  if (code !== 'ERR_JWT_CLAIM_VALIDATION_FAILED') return 'malformed token';
  if (reason === 'missing') return 'missing claims';
  if (claim === 'nbf' || claim === 'iat') return 'token not yet valid';
  if (claim === 'typ') return 'not an access token';
  return 'wrong issuer or audience';
}

function isAccessClaims(payload: JWTPayload): payload is JWTPayload & AccessClaims {
  return (
    typeof payload.sub === 'string' &&
    (payload.typ === 'customer' || payload.typ === 'staff') &&
    typeof payload.sid === 'string' &&
    typeof payload.jti === 'string' &&
    typeof payload.iat === 'number' &&
    typeof payload.exp === 'number' &&
    (payload.role === undefined || ROLES.has(payload.role)) &&
    (payload.perms === undefined ||
      (Array.isArray(payload.perms) && payload.perms.every((p) => typeof p === 'string')))
  );
}

export async function verifyAccessToken(env: Env, token: string, audience: Audience): Promise<AccessClaims> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw invalidToken('malformed token');
  }
  if (header.alg !== ALGORITHM) throw invalidToken('unsupported algorithm');
  const key = header.kid ? (await signingKeys(env)).verifiers.get(header.kid) : undefined;
  if (!key) throw invalidToken('unknown signing key');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: [ALGORITHM],
      // RFC 9068: only access tokens pass, never another JWT that a key of ours might one day sign.
      typ: TOKEN_TYPE,
      issuer: env.PUBLIC_URL,
      audience,
      requiredClaims: ['sub', 'jti', 'iat', 'exp', 'nbf'],
    }));
  } catch (error) {
    throw invalidToken(failureDescription(error));
  }
  if (!isAccessClaims(payload)) throw invalidToken('missing claims');
  const { sub, typ, sid, role, perms, jti, iat, exp } = payload;
  return { sub, typ, sid, jti, iat, exp, ...(role ? { role } : {}), ...(perms ? { perms } : {}) };
}

export async function publicJwks(env: Env): Promise<{ keys: JWK[] }> {
  return { keys: (await signingKeys(env)).publicJwks };
}
