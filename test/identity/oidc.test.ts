import { env } from 'cloudflare:workers';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { issueSecretKey } from '../../src/modules/api-keys/secret-key';
import { seedRegions } from '../helpers/catalog-fixtures';
import { PASSWORD, post, registerCustomer } from '../helpers/customers';
import { call, jsonInit, problemOf } from '../helpers/http';

/** An independent OpenID issuer: its own keys, its own JWKS document, tokens minted by jose. */
class FakeIssuer {
  keys: { kid: string; privateKey: CryptoKey; publicJwk: JWK }[] = [];
  jwksFetches = 0;
  constructor(
    readonly issuer: string,
    readonly jwksUrl: string,
  ) {}

  async rotate() {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = `k${this.keys.length + 1}`;
    this.keys.unshift({
      kid,
      privateKey,
      publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
    });
  }

  jwks() {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }

  async idToken(claims: Record<string, unknown>, options: { audience?: string; expiresIn?: string } = {}) {
    const key = this.keys[0] as FakeIssuer['keys'][number];
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: key.kid })
      .setIssuer(this.issuer)
      .setAudience(options.audience ?? 'edgecart-client')
      .setIssuedAt()
      .setExpirationTime(options.expiresIn ?? '5m')
      .sign(key.privateKey);
  }
}

const issuer = new FakeIssuer('https://accounts.idp.test', 'https://accounts.idp.test/jwks');
let failJwks = false;
let providerId = '';

beforeAll(async () => {
  await seedRegions();
  await issuer.rotate();
  const { key } = await issueSecretKey(env.DB, 'oidc tests', ['settings:manage']);
  const res = await call(
    '/v1/admin/identity-providers',
    jsonInit(
      'POST',
      { name: 'IdP', issuer: issuer.issuer, client_id: 'edgecart-client', jwks_url: issuer.jwksUrl },
      { Authorization: `Bearer ${key}` },
    ),
  );
  expect(res.status).toBe(201);
  providerId = ((await res.json()) as { id: string }).id;
});

const realFetch = globalThis.fetch;
vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
  const url = input instanceof Request ? input.url : String(input);
  if (url.startsWith(issuer.jwksUrl)) {
    issuer.jwksFetches++;
    if (failJwks) return new Response('upstream down', { status: 502 });
    return Response.json(issuer.jwks());
  }
  return realFetch(input, init);
});
afterEach(() => {
  failJwks = false;
});

const signIn = (idToken: string, provider = providerId) =>
  post('/v1/auth/customers/oidc', { provider, id_token: idToken });
const sub = () => `sub-${crypto.randomUUID()}`;

describe('external OpenID Connect login', () => {
  it('creates a verified customer on first sign-in and returns edgecart tokens', async () => {
    const email = `oidc.${crypto.randomUUID().slice(0, 8)}@example.com`;
    const res = await signIn(
      await issuer.idToken({ sub: sub(), email, email_verified: true, given_name: 'Ada' }),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      customer: Record<string, unknown>;
      tokens: { access_token: string };
    };
    expect(body.customer).toStrictEqual({
      id: expect.stringMatching(/^cus_/),
      email,
      email_verified: true,
      first_name: 'Ada',
      last_name: null,
      phone: null,
      locale: null,
      created_at: expect.any(String),
    });
    const me = await call('/v1/store/customers/me', {
      headers: { Authorization: `Bearer ${body.tokens.access_token}` },
    });
    expect(me.status).toBe(200);
  });

  it('signs the same (issuer, sub) into the same customer again', async () => {
    const subject = sub();
    const first = (await (await signIn(await issuer.idToken({ sub: subject }))).json()) as {
      customer: { id: string };
    };
    const second = (await (await signIn(await issuer.idToken({ sub: subject }))).json()) as {
      customer: { id: string };
    };
    expect(second.customer.id).toBe(first.customer.id);
    expect(
      await env.DB.prepare('SELECT COUNT(*) AS n FROM external_identities WHERE subject = ?')
        .bind(subject)
        .first(),
    ).toStrictEqual({ n: 1 });
  });

  it('links an existing password account by verified email', async () => {
    const who = await registerCustomer();
    const res = await signIn(await issuer.idToken({ sub: sub(), email: who.email, email_verified: true }));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { customer: { id: string } }).customer.id).toBe(who.id);
  });

  it('refuses to link an existing account by an unverified email, and links nothing', async () => {
    const who = await registerCustomer();
    const before = await env.DB.prepare('SELECT COUNT(*) AS n FROM external_identities').first();
    const res = await signIn(await issuer.idToken({ sub: sub(), email: who.email, email_verified: false }));
    expect(res.status).toBe(409);
    expect((await problemOf(res)).code).toBe('email_not_verified');
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM external_identities').first()).toStrictEqual(
      before,
    );
    expect((await post('/v1/auth/customers/login', { email: who.email, password: PASSWORD })).status).toBe(
      200,
    );
  });

  it('refuses a token for another audience, an expired one and one signed by a foreign key', async () => {
    const wrongAudience = await signIn(await issuer.idToken({ sub: sub() }, { audience: 'someone-else' }));
    expect(wrongAudience.status).toBe(401);
    expect((await problemOf(wrongAudience)).code).toBe('invalid_id_token');

    const past = await new SignJWT({ sub: sub() })
      .setProtectedHeader({ alg: 'RS256', kid: issuer.keys[0]?.kid as string })
      .setIssuer(issuer.issuer)
      .setAudience('edgecart-client')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(issuer.keys[0]?.privateKey as CryptoKey);
    const stale = await signIn(past);
    expect(stale.status).toBe(401);
    expect((await problemOf(stale)).detail).toBe('The ID token has expired.');

    const impostor = new FakeIssuer(issuer.issuer, 'https://impostor.test/jwks');
    await impostor.rotate();
    const forged = await signIn(await impostor.idToken({ sub: sub() }));
    expect(forged.status).toBe(401);
  });

  it('picks up rotated issuer keys by refetching the JWKS', async () => {
    await signIn(await issuer.idToken({ sub: sub() }));
    await issuer.rotate();
    const fetchesBefore = issuer.jwksFetches;
    // The memoized JWKS predates the rotation; the refetch cooldown must have passed.
    vi.setSystemTime(Date.now() + 60_000);
    const res = await signIn(await issuer.idToken({ sub: sub() }));
    vi.useRealTimers();
    expect(res.status).toBe(200);
    expect(issuer.jwksFetches).toBe(fetchesBefore + 1);
  });

  it('answers an unknown provider with 422', async () => {
    const res = await signIn(await issuer.idToken({ sub: sub() }), 'https://unknown.test');
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors).toStrictEqual([
      { pointer: '/body/provider', message: 'Use the id or issuer of an enabled provider' },
    ]);
  });

  it('answers 503, not 500, when the provider’s keys cannot be fetched', async () => {
    const other = new FakeIssuer('https://down.idp.test', 'https://accounts.idp.test/jwks');
    await other.rotate();
    const { key } = await issueSecretKey(env.DB, 'oidc down', ['settings:manage']);
    await call(
      '/v1/admin/identity-providers',
      jsonInit(
        'POST',
        {
          name: 'Down',
          issuer: other.issuer,
          client_id: 'edgecart-client',
          jwks_url: 'https://accounts.idp.test/jwks?down',
        },
        { Authorization: `Bearer ${key}` },
      ),
    );
    failJwks = true;
    const res = await signIn(await other.idToken({ sub: sub() }), other.issuer);
    expect(res.status).toBe(503);
    expect(res.headers.get('Retry-After')).toBe('5');
    expect((await problemOf(res)).code).toBe('identity_provider_unavailable');
  });
});
