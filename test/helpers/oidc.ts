/**
 * An independent OpenID Connect issuer for tests: its own key pairs (made with jose), its own JWKS document in
 * the standard wire format, and ID tokens it signs. The issuer's JWKS endpoint is the outside world, so it is
 * served through a spy on `fetch`; everything on our side (D1, KV, the Worker) is real. `configureProvider`
 * goes through HTTP (the admin API), with a secret key issued straight into D1.
 */
import { env } from 'cloudflare:workers';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { expect, vi } from 'vitest';
import { issueSecretKey } from '../../src/auth/secret-key';
import { bearer, call, jsonInit } from './http';

export const CLIENT_ID = 'edgecart-client';

type IssuerKey = { kid: string; privateKey: CryptoKey; publicJwk: JWK };
type JwksBehaviour = 'serve' | 'fail' | 'hang';

export class FakeIssuer {
  keys: IssuerKey[] = [];
  jwksFetches = 0;
  behaviour: JwksBehaviour = 'serve';

  constructor(
    readonly issuer: string,
    readonly jwksUrl = `${issuer}/.well-known/jwks.json`,
  ) {}

  /** A new signing key with a new kid, used from now on; the old keys stay published. */
  async rotate(): Promise<void> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = `k${this.keys.length + 1}-${crypto.randomUUID().slice(0, 4)}`;
    this.keys.unshift({
      kid,
      privateKey,
      publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
    });
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }

  async idToken(
    claims: Record<string, unknown>,
    options: { audience?: string; issuedAt?: number; expiresAt?: number | string } = {},
  ): Promise<string> {
    const key = this.keys[0] as IssuerKey;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: key.kid })
      .setIssuer(this.issuer)
      .setAudience(options.audience ?? CLIENT_ID)
      .setIssuedAt(options.issuedAt)
      .setExpirationTime(options.expiresAt ?? '5m')
      .sign(key.privateKey);
  }

  /** What the issuer's JWKS endpoint answers to `init`. */
  async serveJwks(init: RequestInit | undefined): Promise<Response> {
    this.jwksFetches++;
    if (this.behaviour === 'fail') return new Response('upstream down', { status: 502 });
    if (this.behaviour === 'hang') {
      // Never answers: only the caller's timeout (its abort signal) ends the wait.
      const signal = init?.signal;
      expect(signal).toBeInstanceOf(AbortSignal);
      return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
    }
    return Response.json(this.jwks(), { headers: { 'Cache-Control': 'public, max-age=3600' } });
  }
}

/** Routes fetches of every issuer's JWKS URL to that issuer; anything else would be a real network call. */
export function serveIssuers(...issuers: FakeIssuer[]) {
  const realFetch = globalThis.fetch;
  return vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const issuer = issuers.find((i) => url === i.jwksUrl);
    return issuer ? issuer.serveJwks(init) : realFetch(input, init);
  });
}

/** Configures `issuer` as an identity provider through the admin API; answers the provider id. */
export async function configureProvider(
  issuer: FakeIssuer,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const { key } = await issueSecretKey(env.DB, 'oidc tests', ['settings:manage']);
  const res = await call(
    '/v1/admin/identity-providers',
    jsonInit(
      'POST',
      { name: 'IdP', issuer: issuer.issuer, client_id: CLIENT_ID, jwks_url: issuer.jwksUrl, ...extra },
      bearer(key),
    ),
  );
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

export const newSubject = () => `sub-${crypto.randomUUID()}`;
