import { env } from 'cloudflare:workers';
import { base64url, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/lib/errors';
import { ACCESS_TOKEN_TTL_SECONDS, signAccessToken, verifyAccessToken } from '../../src/lib/jwt';
import { call } from '../helpers/http';

const keys = JSON.parse(env.JWT_SIGNING_KEYS) as (JWK & { kid: string })[];
const [current, previous] = keys as [JWK & { kid: string }, JWK & { kid: string }];
const claims = { typ: 'customer', sid: 'ses_1' };

async function forge(
  jwk: JWK & { kid: string },
  edit: (jwt: SignJWT) => SignJWT = (jwt) => jwt,
  header: Record<string, unknown> = {},
): Promise<string> {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', kid: jwk.kid, ...header })
    .setIssuer(env.PUBLIC_URL)
    .setAudience('edgecart:store')
    .setSubject('cus_1')
    .setIssuedAt()
    .setNotBefore('0s')
    .setExpirationTime('5m')
    .setJti('jti-1');
  return edit(jwt).sign(await importJWK(jwk, 'EdDSA'));
}

async function rejection(
  token: string,
): Promise<{ status: number; code: string; challenge: string | undefined }> {
  try {
    await verifyAccessToken(env, token, 'edgecart:store');
  } catch (error) {
    if (error instanceof AppError) {
      return { status: error.status, code: error.code, challenge: error.headers?.['WWW-Authenticate'] };
    }
    throw error;
  }
  throw new Error('the token was accepted');
}

const segment = (value: unknown) => base64url.encode(JSON.stringify(value));

describe('access tokens', () => {
  it('carry iss, aud, sub, exp, iat, nbf, jti, kid and the principal', async () => {
    const { token, expiresIn } = await signAccessToken(
      env,
      { sub: 'stf_1', typ: 'staff', sid: 'ses_9', role: 'admin', perms: ['catalog:read'] },
      'edgecart:admin',
    );
    expect(expiresIn).toBe(ACCESS_TOKEN_TTL_SECONDS);
    const [header, payload] = token
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(new TextDecoder().decode(base64url.decode(p))));
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

  it('still verify when signed by the previous key (rotation), while new tokens use the first', async () => {
    const token = await forge(previous);
    expect((await verifyAccessToken(env, token, 'edgecart:store')).sub).toBe('cus_1');
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

describe('token attacks are refused with 401 invalid_token and a Bearer challenge', () => {
  const expectRefused = async (token: string, description: string) => {
    expect(await rejection(token)).toStrictEqual({
      status: 401,
      code: 'invalid_token',
      challenge: `Bearer realm="edgecart", error="invalid_token", error_description="${description}"`,
    });
  };

  it('alg: none', async () => {
    const valid = await forge(current);
    const [, payload] = valid.split('.');
    await expectRefused(`${segment({ alg: 'none', kid: current.kid })}.${payload}.`, 'unsupported algorithm');
  });

  it('algorithm confusion: HS256 keyed with the public key', async () => {
    const publicKeyBytes = base64url.decode(current.x as string);
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: current.kid })
      .setIssuer(env.PUBLIC_URL)
      .setAudience('edgecart:store')
      .setSubject('cus_1')
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('5m')
      .setJti('x')
      .sign(publicKeyBytes);
    await expectRefused(token, 'unsupported algorithm');
  });

  it('an unknown kid', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
    const rogue = { ...(await exportJWK(privateKey)), kid: 'rogue' };
    await expectRefused(await forge(rogue), 'unknown signing key');
  });

  it('a known kid with a key that is not ours', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
    const rogue = { ...(await exportJWK(privateKey)), kid: current.kid };
    await expectRefused(await forge(rogue), 'signature verification failed');
  });

  it('the wrong issuer', async () => {
    await expectRefused(
      await forge(current, (j) => j.setIssuer('https://evil.test')),
      'wrong issuer, audience or validity window',
    );
  });

  it('the wrong audience (an admin token on the store)', async () => {
    await expectRefused(
      await forge(current, (j) => j.setAudience('edgecart:admin')),
      'wrong issuer, audience or validity window',
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

  it('a token not yet valid', async () => {
    const future = Math.floor(Date.now() / 1000) + 3600;
    await expectRefused(
      await forge(current, (j) => j.setNotBefore(future)),
      'wrong issuer, audience or validity window',
    );
  });

  it('a tampered payload', async () => {
    const [header, , signature] = (await forge(current)).split('.');
    const tampered = segment({
      ...claims,
      sub: 'cus_admin',
      iss: env.PUBLIC_URL,
      aud: 'edgecart:store',
      exp: 9e9,
      iat: 1,
      nbf: 1,
      jti: 'j',
    });
    await expectRefused(`${header}.${tampered}.${signature}`, 'signature verification failed');
  });

  it('garbage', async () => {
    await expectRefused('not.a.jwt', 'malformed token');
  });
});
