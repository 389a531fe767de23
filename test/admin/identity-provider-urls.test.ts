/**
 * Identity provider URLs go through the outbound URL guard: refused when an admin stores them (nothing is
 * written), and refused again at sign-in, before any connection, when a bad URL got into D1 some other way.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectNoWrites, insertSecretKey } from '../helpers/admin';
import { bearer, call, jsonInit, post, problemOf } from '../helpers/http';
import { CLIENT_ID, FakeIssuer, newSubject } from '../helpers/oidc';
import { unique } from '../helpers/unique';

let manager = '';
beforeAll(async () => {
  manager = (await insertSecretKey(['settings:manage'])).key;
});
afterEach(() => vi.restoreAllMocks());

const admin = (method: string, path: string, body: unknown) =>
  call(`/v1/admin${path}`, jsonInit(method, body, bearer(manager)));

function input(overrides: Record<string, unknown> = {}) {
  const host = `${unique('idp')}.test`;
  return {
    name: 'IdP',
    issuer: `https://${host}`,
    client_id: CLIENT_ID,
    jwks_url: `https://${host}/jwks`,
    ...overrides,
  };
}

const refused = (errors: { pointer: string; message: string }[]) => ({
  type: 'https://edgecart.dev/problems/url_not_allowed',
  title: 'Unprocessable Content',
  status: 422,
  detail: 'The Worker may not connect to this URL.',
  code: 'url_not_allowed',
  request_id: expect.any(String),
  errors,
});

describe('storing provider URLs', () => {
  it.each([
    ['https://169.254.169.254/latest/meta-data/', 'Not allowed: a private or reserved IPv4 address'],
    ['https://0x7f000002/jwks', 'Not allowed: a private or reserved IPv4 address'],
    ['https://[::ffff:10.0.0.1]/jwks', 'Not allowed: a private or reserved IPv6 address'],
    ['https://metadata.google.internal/jwks', 'Not allowed: a local host name'],
    ['https://keys.example.com:8443/jwks', 'Not allowed: a port other than 443'],
    ['https://user:pw@keys.example.com/jwks', 'Not allowed: credentials in the URL'],
  ])('refuses jwks_url %s on create and on update with 422, storing nothing', async (jwksUrl, message) => {
    const created = await admin('POST', '/identity-providers', input());
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    for (const request of [
      () => admin('POST', '/identity-providers', input({ jwks_url: jwksUrl })),
      () => admin('PATCH', `/identity-providers/${id}`, { jwks_url: jwksUrl }),
    ]) {
      const res = await expectNoWrites(request);
      expect(res.status).toBe(422);
      expect(await problemOf(res)).toStrictEqual(refused([{ pointer: '/body/jwks_url', message }]));
    }
  });

  it('checks the issuer too, naming every refused field', async () => {
    const res = await expectNoWrites(() =>
      admin(
        'POST',
        '/identity-providers',
        input({ issuer: 'https://id.localhost', jwks_url: 'https://10.0.0.1/k' }),
      ),
    );
    expect(res.status).toBe(422);
    expect(await problemOf(res)).toStrictEqual(
      refused([
        { pointer: '/body/issuer', message: 'Not allowed: a local host name' },
        { pointer: '/body/jwks_url', message: 'Not allowed: a private or reserved IPv4 address' },
      ]),
    );
  });

  it('accepts a local issuer on localhost outside production (ENVIRONMENT is "test" here)', async () => {
    const res = await admin('POST', '/identity-providers', input({ jwks_url: 'http://localhost:8790/jwks' }));
    expect(res.status).toBe(201);
  });
});

describe('signing in with a provider whose stored URL is refused', () => {
  it('answers 503 without connecting anywhere, and logs why', async () => {
    const issuer = new FakeIssuer(
      `https://${unique('idp')}.test`,
      'https://169.254.169.254/latest/meta-data/',
    );
    await issuer.rotate();
    await env.DB.prepare(
      'INSERT INTO identity_providers (id, name, issuer, client_id, jwks_url, enabled) VALUES (?, ?, ?, ?, ?, 1)',
    )
      .bind(`idp_${unique('X').toUpperCase()}`, 'Planted', issuer.issuer, CLIENT_ID, issuer.jwksUrl)
      .run();
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const warn = vi.spyOn(console, 'warn');

    const res = await post('/v1/auth/customers/oidc', {
      provider: issuer.issuer,
      id_token: await issuer.idToken({ sub: newSubject() }),
    });

    expect(res.status).toBe(503);
    expect(res.headers.get('Retry-After')).toBe('5');
    expect(await problemOf(res)).toStrictEqual({
      type: 'https://edgecart.dev/problems/identity_provider_unavailable',
      title: 'Service Unavailable',
      status: 503,
      detail: 'The sign-in provider could not be reached; try again shortly.',
      code: 'identity_provider_unavailable',
      request_id: res.headers.get('X-Request-Id'),
    });
    expect(fetchSpy).not.toHaveBeenCalled();
    const lines = warn.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        msg: 'jwks url refused',
        jwks_url: issuer.jwksUrl,
        reason: 'a private or reserved IPv4 address',
        request_id: res.headers.get('X-Request-Id'),
      }),
    );
    expect(await env.KV.get(`oidc:jwks:${issuer.jwksUrl}`)).toBeNull();
  });
});
