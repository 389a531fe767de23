import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { FREE_FAILURES } from '../../src/modules/customers/auth-service';
import { seedRegions } from '../helpers/catalog-fixtures';
import {
  bearer,
  PASSWORD,
  post,
  randomIp,
  registerCustomer,
  type Tokens,
  uniqueEmail,
} from '../helpers/customers';
import { call, problemOf } from '../helpers/http';

beforeAll(seedRegions);

const count = async (sql: string, ...binds: unknown[]) =>
  ((
    await env.DB.prepare(sql)
      .bind(...binds)
      .first<{ n: number }>()
  )?.n ?? 0) as number;

async function mailTo(email: string): Promise<string[]> {
  const res = await call(`/v1/dev/mailbox?to=${encodeURIComponent(email)}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { text: string }[] }).data.map((m) => m.text);
}
const tokenIn = (text: string) => /Token: ([\w-]+)/.exec(text)?.[1] as string;

describe('register', () => {
  it('creates the customer, signs them in and mails a verification link', async () => {
    const email = uniqueEmail('Ada');
    const res = await post('/v1/auth/customers/register', {
      email: email.toUpperCase(),
      password: PASSWORD,
      first_name: 'Ada',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const body = (await res.json()) as { customer: unknown; tokens: Tokens };
    expect(body).toStrictEqual({
      customer: {
        id: expect.stringMatching(/^cus_/),
        email: email.toLowerCase(),
        email_verified: false,
        first_name: 'Ada',
        last_name: null,
        phone: null,
        locale: null,
        created_at: expect.any(String),
      },
      tokens: {
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 900,
        refresh_token: expect.stringMatching(/^rt_/),
      },
    });
    const stored = await env.DB.prepare('SELECT password_hash FROM customers WHERE email = ?')
      .bind(email.toLowerCase())
      .first<{ password_hash: string }>();
    expect(stored?.password_hash).toMatch(/^pbkdf2-sha256\$v1\$/);
    expect(await mailTo(email.toLowerCase())).toHaveLength(1);
  });

  it('refuses a taken email with 409 and adds nothing', async () => {
    const existing = await registerCustomer();
    const before = await count('SELECT COUNT(*) AS n FROM customers');
    const res = await post('/v1/auth/customers/register', { email: existing.email, password: PASSWORD });
    expect(res.status).toBe(409);
    expect((await problemOf(res)).code).toBe('email_taken');
    expect(await count('SELECT COUNT(*) AS n FROM customers')).toBe(before);
  });

  it.each([
    [{ email: 'not-an-email', password: PASSWORD }, '/body/email'],
    [{ email: uniqueEmail(), password: 'short' }, '/body/password'],
    [{ email: uniqueEmail(), password: PASSWORD, email_verified: true }, '/body/email_verified'],
    [{ email: uniqueEmail(), password: PASSWORD, id: 'cus_chosen' }, '/body/id'],
  ])('rejects %o at %s and stores nothing', async (body, pointer) => {
    const before = await count('SELECT COUNT(*) AS n FROM customers');
    const res = await post('/v1/auth/customers/register', body);
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.map((e) => e.pointer)).toContain(pointer);
    expect(await count('SELECT COUNT(*) AS n FROM customers')).toBe(before);
  });
});

describe('login', () => {
  it('answers an unknown email and a wrong password identically', async () => {
    const who = await registerCustomer();
    const wrong = await post('/v1/auth/customers/login', { email: who.email, password: 'not the password' });
    const unknown = await post('/v1/auth/customers/login', {
      email: uniqueEmail(),
      password: 'not the password',
    });
    expect([wrong.status, unknown.status]).toStrictEqual([401, 401]);
    const strip = ({ request_id: _, ...rest }: { request_id: string }) => rest;
    expect(strip(await problemOf(wrong))).toStrictEqual(strip(await problemOf(unknown)));
  });

  it('signs in with the right password', async () => {
    const who = await registerCustomer();
    const res = await post('/v1/auth/customers/login', { email: who.email, password: PASSWORD });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { customer: { id: string } }).customer.id).toBe(who.id);
  });

  it('locks the account after repeated failures, refusing even the right password, then recovers', async () => {
    const who = await registerCustomer();
    for (let i = 0; i < FREE_FAILURES; i++) {
      expect(
        (await post('/v1/auth/customers/login', { email: who.email, password: `wrong-${i}` })).status,
      ).toBe(401);
    }
    const locked = await post('/v1/auth/customers/login', { email: who.email, password: PASSWORD });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect((await problemOf(locked)).code).toBe('account_locked');

    // The lock runs out (moved into the past here instead of waiting): the right password works and resets it.
    await env.DB.prepare('UPDATE customers SET locked_until = 0 WHERE id = ?').bind(who.id).run();
    expect((await post('/v1/auth/customers/login', { email: who.email, password: PASSWORD })).status).toBe(
      200,
    );
    const row = await env.DB.prepare('SELECT failed_logins, locked_until FROM customers WHERE id = ?')
      .bind(who.id)
      .first();
    expect(row).toStrictEqual({ failed_logins: 0, locked_until: null });
  });
});

describe('rate limits', () => {
  it('trip per account with 429 and Retry-After, while other accounts are unaffected', async () => {
    const email = uniqueEmail('target');
    const statuses = [];
    for (let i = 0; i < 11; i++) {
      statuses.push((await post('/v1/auth/customers/password-reset/request', { email })).status);
    }
    expect(statuses.slice(0, 10)).toStrictEqual(Array(10).fill(202));
    expect(statuses[10]).toBe(429);
    const res = await post('/v1/auth/customers/password-reset/request', { email });
    expect(res.headers.get('Retry-After')).toBe('60');
    expect((await problemOf(res)).code).toBe('rate_limited');
    expect((await post('/v1/auth/customers/password-reset/request', { email: uniqueEmail() })).status).toBe(
      202,
    );
  });

  it('trip per IP across accounts, while other IPs are unaffected', async () => {
    const ip = randomIp();
    const statuses = [];
    for (let i = 0; i < 31; i++) {
      statuses.push(
        (
          await post(
            '/v1/auth/customers/login',
            { email: uniqueEmail(), password: 'x' },
            { 'CF-Connecting-IP': ip },
          )
        ).status,
      );
    }
    expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
    expect(statuses[30]).toBe(429);
    expect((await post('/v1/auth/customers/login', { email: uniqueEmail(), password: 'x' })).status).toBe(
      401,
    );
  });
});

describe('refresh tokens', () => {
  it('rotate on every use, and a replayed one revokes the whole family', async () => {
    const who = await registerCustomer();
    const first = await post('/v1/auth/customers/refresh', { refresh_token: who.tokens.refresh_token });
    expect(first.status).toBe(200);
    const rotated = (await first.json()) as Tokens;
    expect(rotated.refresh_token).not.toBe(who.tokens.refresh_token);
    expect(
      (await call('/v1/store/customers/me', { headers: { Authorization: `Bearer ${rotated.access_token}` } }))
        .status,
    ).toBe(200);

    const replay = await post('/v1/auth/customers/refresh', { refresh_token: who.tokens.refresh_token });
    expect(replay.status).toBe(401);
    expect((await problemOf(replay)).code).toBe('refresh_token_reused');
    // The thief's replay ended the session: the newest tokens are dead too.
    expect((await post('/v1/auth/customers/refresh', { refresh_token: rotated.refresh_token })).status).toBe(
      401,
    );
    const me = await call('/v1/store/customers/me', {
      headers: { Authorization: `Bearer ${rotated.access_token}` },
    });
    expect(me.status).toBe(401);
    expect(me.headers.get('WWW-Authenticate')).toContain('invalid_token');
    const session = await env.DB.prepare('SELECT revoked_reason FROM sessions WHERE principal_id = ?')
      .bind(who.id)
      .first();
    expect(session).toStrictEqual({ revoked_reason: 'reuse_detected' });
  });

  it('refuses an unknown refresh token', async () => {
    const res = await post('/v1/auth/customers/refresh', { refresh_token: 'rt_made_up' });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe('invalid_refresh_token');
  });

  it('end with logout', async () => {
    const who = await registerCustomer();
    const out = await call('/v1/auth/customers/logout', { method: 'POST', ...bearer(who) });
    expect(out.status).toBe(204);
    expect((await call('/v1/store/customers/me', bearer(who))).status).toBe(401);
    expect(
      (await post('/v1/auth/customers/refresh', { refresh_token: who.tokens.refresh_token })).status,
    ).toBe(401);
  });
});

describe('email verification and password reset', () => {
  it('verifies once; the same link again is refused', async () => {
    const who = await registerCustomer();
    const token = tokenIn((await mailTo(who.email))[0] as string);
    expect((await post('/v1/auth/customers/verify-email', { token })).status).toBe(204);
    expect(
      ((await (await call('/v1/store/customers/me', bearer(who))).json()) as { email_verified: boolean })
        .email_verified,
    ).toBe(true);
    const replay = await post('/v1/auth/customers/verify-email', { token });
    expect(replay.status).toBe(400);
    expect((await problemOf(replay)).code).toBe('invalid_token');
  });

  it('answers 202 for unknown emails too, and sends nothing', async () => {
    const email = uniqueEmail('nobody');
    const res = await post('/v1/auth/customers/password-reset/request', { email });
    expect(res.status).toBe(202);
    expect(await res.json()).toStrictEqual({ status: 'accepted' });
    expect(await mailTo(email)).toStrictEqual([]);
  });

  it('resets the password once, signs out every session, and refuses the token again', async () => {
    const who = await registerCustomer();
    await post('/v1/auth/customers/password-reset/request', { email: who.email });
    const token = tokenIn((await mailTo(who.email))[0] as string);
    const reset = await post('/v1/auth/customers/password-reset/confirm', {
      token,
      password: 'a brand new passphrase',
    });
    expect(reset.status).toBe(204);
    expect((await call('/v1/store/customers/me', bearer(who))).status).toBe(401);
    expect((await post('/v1/auth/customers/login', { email: who.email, password: PASSWORD })).status).toBe(
      401,
    );
    expect(
      (await post('/v1/auth/customers/login', { email: who.email, password: 'a brand new passphrase' }))
        .status,
    ).toBe(200);
    const replay = await post('/v1/auth/customers/password-reset/confirm', {
      token,
      password: 'yet another passphrase',
    });
    expect(replay.status).toBe(400);
  });

  it('keeps the dev mailbox out of production', async () => {
    const { createApp } = await import('../../src/app');
    const res = await createApp().request('/v1/dev/mailbox', {}, { ...env, ENVIRONMENT: 'production' });
    expect(res.status).toBe(404);
  });
});

describe('token misuse', () => {
  it('refuses a customer token on admin routes and a missing token on account routes', async () => {
    const who = await registerCustomer();
    const admin = await call('/v1/admin/products', bearer(who));
    expect(admin.status).toBe(401);
    const anonymous = await call('/v1/store/customers/me');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('WWW-Authenticate')).toBe('Bearer realm="edgecart"');
  });

  it('never caches account responses at the edge', async () => {
    const who = await registerCustomer();
    const res = await call('/v1/store/customers/me', { cf: { country: 'DE' }, ...bearer(who) });
    expect(res.headers.get('X-Cache')).toBeNull();
    expect(res.headers.get('Cache-Control')).toBe('no-store');
  });
});
