import { env } from 'cloudflare:workers';
import { base64url, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_TOKEN_TTL_SECONDS, signAccessToken, verifyAccessToken } from '../../src/lib/jwt';
import { seedRegions } from '../helpers/catalog-fixtures';
import { registerCustomer, type SignedIn } from '../helpers/customers';
import { bearer, call, problemOf } from '../helpers/http';

type SigningJwk = JWK & { kid: string };

const keys = JSON.parse(env.JWT_SIGNING_KEYS) as SigningJwk[];
const [current, previous] = keys as [SigningJwk, SigningJwk];

const decodeSegment = (segment: string) => JSON.parse(new TextDecoder().decode(base64url.decode(segment)));
const segment = (value: unknown) => base64url.encode(JSON.stringify(value));

/** A real customer with a live session: forged tokens name them, so only the forgery can be the reason for a 401. */
let customer: SignedIn;
let sid: string;

beforeAll(async () => {
  await seedRegions();
  customer = await registerCustomer();
  sid = decodeSegment(customer.tokens.access_token.split('.')[1] as string).sid;
});

/** A token like ours, signed with `jwk`; `edit` changes one thing about it. */
async function forge(
  jwk: SigningJwk,
  edit: (jwt: SignJWT) => SignJWT = (jwt) => jwt,
  header: Record<string, unknown> = {},
): Promise<string> {
  const jwt = new SignJWT({ typ: 'customer', sid })
    .setProtectedHeader({ alg: 'EdDSA', kid: jwk.kid, typ: 'at+jwt', ...header })
    .setIssuer(env.PUBLIC_URL)
    .setAudience('edgecart:store')
    .setSubject(customer.id)
    .setIssuedAt()
    .setNotBefore('0s')
    .setExpirationTime('5m')
    .setJti(crypto.randomUUID());
  return edit(jwt).sign(await importJWK(jwk, 'EdDSA'));
}

const me = (token: string) => call('/v1/store/customers/me', { headers: bearer(token) });

async function expectRefused(token: string, description: string): Promise<void> {
  const res = await me(token);
  expect(res.status).toBe(401);
  expect(res.headers.get('WWW-Authenticate')).toBe(
    `Bearer realm="edgecart", error="invalid_token", error_description="${description}"`,
  );
  expect(await problemOf(res)).toStrictEqual({
    type: 'https://edgecart.dev/problems/invalid_token',
    title: 'Unauthorized',
    status: 401,
    detail: `The access token is not valid: ${description}.`,
    code: 'invalid_token',
    request_id: expect.any(String),
  });
}

describe('access tokens', () => {
  it('carry iss, aud, sub, exp, iat, nbf, jti, kid and the principal', async () => {
    const { token, expiresIn } = await signAccessToken(
      env,
      { sub: 'stf_1', typ: 'staff', sid: 'ses_9', role: 'admin', perms: ['catalog:read'] },
      'edgecart:admin',
    );
    expect(expiresIn).toBe(ACCESS_TOKEN_TTL_SECONDS);
    const [header, payload] = token.split('.').slice(0, 2).map(decodeSegment);
    expect(header).toStrictEqual({ alg: 'EdDSA', kid: current.kid, typ: 'at+jwt' });
    expect(payload).toStrictEqual({
      typ: 'staff',
      sid: 'ses_9',
      role: 'admin',
      perms: ['catalog:read'],
      iss: env.PUBLIC_URL,
      aud: 'edgecart:admin',
      sub: 'stf_1',
      iat: expect.any(Number),
      nbf: expect.any(Number),
      exp: payload.iat + ACCESS_TOKEN_TTL_SECONDS,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(await verifyAccessToken(env, token, 'edgecart:admin')).toStrictEqual({
      sub: 'stf_1',
      typ: 'staff',
      sid: 'ses_9',
      role: 'admin',
      perms: ['catalog:read'],
      jti: payload.jti,
      iat: payload.iat,
      exp: payload.exp,
    });
  });

  it('are accepted on the store when well formed (the control for every attack below)', async () => {
    expect((await me(await forge(current))).status).toBe(200);
  });

  it('are accepted in their last minute (issued a lifetime ago less one minute)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const issued = now - ACCESS_TOKEN_TTL_SECONDS + 60;
    const token = await forge(current, (j) =>
      j
        .setIssuedAt(issued)
        .setNotBefore(issued)
        .setExpirationTime(issued + ACCESS_TOKEN_TTL_SECONDS),
    );
    expect((await me(token)).status).toBe(200);
  });

  it('signed by the previous key still verify (rotation), while new tokens are signed by the first', async () => {
    expect(keys.map((k) => k.kid)).toStrictEqual(['test-2', 'test-1']);
    const res = await me(await forge(previous));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { id: string }).id).toBe(customer.id);
    expect(decodeSegment(customer.tokens.access_token.split('.')[0] as string).kid).toBe(current.kid);
  });

  it('publish the public halves, and only them, at /.well-known/jwks.json', async () => {
    const res = await call('/.well-known/jwks.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('public, max-age=300');
    expect(await res.json()).toStrictEqual({
      keys: keys.map((k) => ({ kty: 'OKP', crv: 'Ed25519', x: k.x, kid: k.kid, alg: 'EdDSA', use: 'sig' })),
    });
  });
});

describe('token attacks are refused with 401 problem+json and a Bearer challenge', () => {
  it('alg: none', async () => {
    const [, payload] = (await forge(current)).split('.');
    await expectRefused(
      `${segment({ alg: 'none', kid: current.kid, typ: 'at+jwt' })}.${payload}.`,
      'unsupported algorithm',
    );
  });

  it('algorithm confusion: HS256 keyed with the public key bytes', async () => {
    const publicKeyBytes = base64url.decode(current.x as string);
    const token = await new SignJWT({ typ: 'customer', sid })
      .setProtectedHeader({ alg: 'HS256', kid: current.kid, typ: 'at+jwt' })
      .setIssuer(env.PUBLIC_URL)
      .setAudience('edgecart:store')
      .setSubject(customer.id)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('5m')
      .setJti('x')
      .sign(publicKeyBytes);
    await expectRefused(token, 'unsupported algorithm');
  });

  it('an unknown kid', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
    await expectRefused(
      await forge({ ...(await exportJWK(privateKey)), kid: 'rogue' }),
      'unknown signing key',
    );
  });

  it('a known kid with a key that is not ours', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
    await expectRefused(
      await forge({ ...(await exportJWK(privateKey)), kid: current.kid }),
      'signature verification failed',
    );
  });

  it('the wrong issuer', async () => {
    await expectRefused(
      await forge(current, (j) => j.setIssuer('https://evil.test')),
      'wrong issuer or audience',
    );
  });

  it('the wrong audience (a token for the admin API)', async () => {
    await expectRefused(
      await forge(current, (j) => j.setAudience('edgecart:admin')),
      'wrong issuer or audience',
    );
  });

  it('an expired token', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    await expectRefused(
      await forge(current, (j) =>
        j
          .setIssuedAt(past - 900)
          .setNotBefore(past - 900)
          .setExpirationTime(past),
      ),
      'token expired',
    );
  });

  it('a token that expired a minute ago (no clock leeway beyond the expiry)', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(
      await forge(current, (j) =>
        j
          .setIssuedAt(now - ACCESS_TOKEN_TTL_SECONDS - 60)
          .setNotBefore(now - ACCESS_TOKEN_TTL_SECONDS - 60)
          .setExpirationTime(now - 60),
      ),
      'token expired',
    );
  });

  it('a token whose nbf is in the future', async () => {
    const future = Math.floor(Date.now() / 1000) + 3600;
    await expectRefused(await forge(current, (j) => j.setNotBefore(future)), 'token not yet valid');
  });

  it('a tampered payload', async () => {
    const [header, payload, signature] = (await forge(current)).split('.');
    const tampered = segment({ ...decodeSegment(payload as string), sub: 'cus_someone_else' });
    await expectRefused(`${header}.${tampered}.${signature}`, 'signature verification failed');
  });

  it('a JWT of ours that is not an access token (typ header)', async () => {
    await expectRefused(await forge(current, (j) => j, { typ: 'JWT' }), 'not an access token');
  });

  it('a token without the claims every access token has', async () => {
    const token = await new SignJWT({ typ: 'customer', sid })
      .setProtectedHeader({ alg: 'EdDSA', kid: current.kid, typ: 'at+jwt' })
      .setIssuer(env.PUBLIC_URL)
      .setAudience('edgecart:store')
      .setSubject(customer.id)
      .setExpirationTime('5m')
      .sign(await importJWK(current, 'EdDSA'));
    await expectRefused(token, 'missing claims');
  });

  it('a staff token on the store', async () => {
    await expectRefused(
      (await signAccessToken(env, { sub: customer.id, typ: 'staff', sid }, 'edgecart:store')).token,
      'not a customer token',
    );
  });

  it('garbage', async () => {
    await expectRefused('not.a.jwt', 'malformed token');
  });
});
