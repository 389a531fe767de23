/** External OpenID Connect sign-in: which ID tokens verify, issuer key rotation, and an unreachable issuer. */
import { env } from 'cloudflare:workers';
import { base64url, SignJWT } from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { seedRegions } from '../helpers/catalog-fixtures';
import { post, problemOf } from '../helpers/http';
import { CLIENT_ID, configureProvider, FakeIssuer, newSubject, serveIssuers } from '../helpers/oidc';

const issuer = new FakeIssuer('https://accounts.idp.test');
const rotating = new FakeIssuer('https://rotating.idp.test');
const down = new FakeIssuer('https://down.idp.test');
const slow = new FakeIssuer('https://slow.idp.test');

beforeAll(async () => {
  await seedRegions();
  for (const i of [issuer, rotating, down, slow]) {
    await i.rotate();
    await configureProvider(i);
  }
  down.behaviour = 'fail';
  slow.behaviour = 'hang';
});
serveIssuers(issuer, rotating, down, slow);
afterEach(() => {
  vi.useRealTimers();
});

const signInWith = (from: FakeIssuer, idToken: string) =>
  post('/v1/auth/customers/oidc', { provider: from.issuer, id_token: idToken });
const customers = async () => (await env.DB.prepare('SELECT COUNT(*) AS n FROM customers').first())?.n;

async function expectRejected(res: Response, detail: string): Promise<void> {
  expect(res.status).toBe(401);
  expect(res.headers.get('WWW-Authenticate')).toBe('Bearer realm="edgecart", error="invalid_token"');
  expect(await problemOf(res)).toStrictEqual({
    type: 'https://edgecart.dev/problems/invalid_id_token',
    title: 'Unauthorized',
    status: 401,
    detail,
    code: 'invalid_id_token',
    request_id: expect.any(String),
  });
}

describe('ID token verification', () => {
  it('refuses a token for another audience, creating nothing', async () => {
    const before = await customers();
    await expectRejected(
      await signInWith(issuer, await issuer.idToken({ sub: newSubject() }, { audience: 'someone-else' })),
      'The ID token was not issued for this store.',
    );
    expect(await customers()).toBe(before);
  });

  it('refuses an expired token', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRejected(
      await signInWith(
        issuer,
        await issuer.idToken({ sub: newSubject() }, { issuedAt: now - 7200, expiresAt: now - 3600 }),
      ),
      'The ID token has expired.',
    );
  });

  it('refuses a token signed by a foreign key under the issuer’s kid', async () => {
    const impostor = new FakeIssuer(issuer.issuer);
    await impostor.rotate();
    const [key] = impostor.keys;
    if (key) key.kid = issuer.keys[0]?.kid as string;
    await expectRejected(
      await signInWith(issuer, await impostor.idToken({ sub: newSubject() })),
      'The ID token is not valid.',
    );
  });

  it('refuses alg none and a symmetric algorithm', async () => {
    const kid = issuer.keys[0]?.kid as string;
    const claims = { sub: newSubject(), iss: issuer.issuer, aud: CLIENT_ID, iat: 1, exp: 9e9 };
    const unsigned = `${base64url.encode(JSON.stringify({ alg: 'none', kid }))}.${base64url.encode(JSON.stringify(claims))}.`;
    await expectRejected(await signInWith(issuer, unsigned), 'The ID token is not valid.');
    const hs256 = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid })
      .sign(new TextEncoder().encode(JSON.stringify(issuer.jwks())));
    await expectRejected(await signInWith(issuer, hs256), 'The ID token is not valid.');
  });
});

describe('issuer keys', () => {
  it('are cached: a second sign-in does not fetch the JWKS again', async () => {
    expect((await signInWith(issuer, await issuer.idToken({ sub: newSubject() }))).status).toBe(200);
    const fetched = issuer.jwksFetches;
    expect((await signInWith(issuer, await issuer.idToken({ sub: newSubject() }))).status).toBe(200);
    expect(issuer.jwksFetches).toBe(fetched);
    expect(await env.KV.get(`oidc:jwks:${issuer.jwksUrl}`, 'json')).toStrictEqual(issuer.jwks());
  });

  it('rotate: a token with the new kid makes one refetch, which picks the new key up', async () => {
    expect((await signInWith(rotating, await rotating.idToken({ sub: newSubject() }))).status).toBe(200);
    await rotating.rotate();
    const fetched = rotating.jwksFetches;
    // Refetches are spaced out per issuer (30 s), so a flood of bogus kids cannot hammer the issuer.
    await expectRejected(
      await signInWith(rotating, await rotating.idToken({ sub: newSubject() })),
      'The ID token is not signed by the provider.',
    );
    expect(rotating.jwksFetches).toBe(fetched);

    vi.setSystemTime(Date.now() + 31_000);
    expect((await signInWith(rotating, await rotating.idToken({ sub: newSubject() }))).status).toBe(200);
    expect(rotating.jwksFetches).toBe(fetched + 1);
  });
});

describe('an unreachable issuer', () => {
  const unavailable = {
    type: 'https://edgecart.dev/problems/identity_provider_unavailable',
    title: 'Service Unavailable',
    status: 503,
    detail: 'The sign-in provider could not be reached; try again shortly.',
    code: 'identity_provider_unavailable',
    request_id: expect.any(String),
  };

  it('answers 503 with Retry-After, not 500, when the JWKS fetch fails', async () => {
    const before = await customers();
    const res = await signInWith(down, await down.idToken({ sub: newSubject() }));
    expect(res.status).toBe(503);
    expect(res.headers.get('Retry-After')).toBe('5');
    expect(await problemOf(res)).toStrictEqual(unavailable);
    expect(await customers()).toBe(before);
  });

  it('answers 503 when the JWKS endpoint does not answer within the timeout', async () => {
    const started = Date.now();
    const res = await signInWith(slow, await slow.idToken({ sub: newSubject() }));
    expect(res.status).toBe(503);
    expect(await problemOf(res)).toStrictEqual(unavailable);
    expect(slow.jwksFetches).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
  });
});
