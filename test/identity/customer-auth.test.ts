import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createDb } from '../../src/lib/db';
import { CUSTOMER_LOCK } from '../../src/modules/customers/auth-service';
import { startSession } from '../../src/modules/sessions/service';
import { seedRegions } from '../helpers/catalog-fixtures';
import { mailTo, PASSWORD, registerCustomer, signIn, type Tokens } from '../helpers/customers';
import { mailSentAfter } from '../helpers/events';
import { bearer, call, post, problemOf, randomIp } from '../helpers/http';
import { uniqueEmail } from '../helpers/unique';

beforeAll(seedRegions);

const count = async (sql: string, ...binds: unknown[]) =>
  (
    await env.DB.prepare(sql)
      .bind(...binds)
      .first<{ n: number }>()
  )?.n ?? 0;
const withoutRequestId = ({ request_id: _, ...rest }: { request_id: string }) => rest;

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
    expect(stored?.password_hash).toMatch(/^pbkdf2-sha256\$v1\$100000\$/);
    await mailSentAfter(res);
    expect(await mailTo(email.toLowerCase())).toStrictEqual([expect.stringContaining('Confirm your email')]);
  });

  it('takes an address on an internationalized domain in its ASCII form (.рф is xn--p1ai), and signs in with it', async () => {
    const email = `ivan.${crypto.randomUUID().slice(0, 8)}@shop.xn--p1ai`;
    const res = await post('/v1/auth/customers/register', { email, password: PASSWORD });
    expect(res.status, await res.clone().text()).toBe(201);
    expect(((await res.json()) as { customer: { email: string } }).customer.email).toBe(email);
    const login = await post('/v1/auth/customers/login', { email: email.toUpperCase(), password: PASSWORD });
    expect(login.status).toBe(200);
  });

  it.each([
    ['a quoted local part', `"ivan smith".${crypto.randomUUID().slice(0, 8)}@example.com`],
    ['an ASCII-form label ending in a hyphen', `ivan.${crypto.randomUUID().slice(0, 8)}@shop.xn---`],
  ])('refuses %s with 422 at its pointer, adding nothing', async (_, email) => {
    const res = await post('/v1/auth/customers/register', { email, password: PASSWORD });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors).toMatchObject([{ pointer: '/body/email' }]);
    expect(
      await env.DB.prepare('SELECT COUNT(*) AS n FROM customers WHERE email = ?').bind(email).first('n'),
    ).toBe(0);
  });

  it('refuses a taken email with 409 and adds nothing', async () => {
    const existing = await registerCustomer();
    const before = await count('SELECT COUNT(*) AS n FROM customers');
    const res = await post('/v1/auth/customers/register', { email: existing.email, password: PASSWORD });
    expect(res.status).toBe(409);
    expect(await problemOf(res)).toStrictEqual({
      type: 'https://edgecart.dev/problems/email_taken',
      title: 'Conflict',
      status: 409,
      detail: 'An account with this email already exists; sign in instead.',
      code: 'email_taken',
      request_id: expect.any(String),
    });
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
  it('answers an unknown email and a wrong password with the same status and body', async () => {
    const who = await registerCustomer();
    const wrong = await signIn(who.email, 'not the password');
    const unknown = await signIn(uniqueEmail(), 'not the password');
    expect([wrong.status, unknown.status]).toStrictEqual([401, 401]);
    const [wrongBody, unknownBody] = [await problemOf(wrong), await problemOf(unknown)];
    expect(withoutRequestId(wrongBody)).toStrictEqual(withoutRequestId(unknownBody));
    expect(withoutRequestId(wrongBody)).toStrictEqual({
      type: 'https://edgecart.dev/problems/invalid_credentials',
      title: 'Unauthorized',
      status: 401,
      detail: 'The email or password is not right.',
      code: 'invalid_credentials',
    });
  });

  it('spends the same work on an unknown email as on a wrong password (a dummy hash is verified)', async () => {
    const who = await registerCustomer();
    // Counted, not timed: the PBKDF2 derivations are the cost, and a count does not depend on an idle machine.
    const derive = vi.spyOn(crypto.subtle, 'deriveBits');
    const pbkdf2Runs = async (email: string) => {
      derive.mockClear();
      expect((await signIn(email, 'not the password')).status).toBe(401);
      return derive.mock.calls.map(([algorithm]) => (algorithm as { iterations?: number }).iterations);
    };
    await pbkdf2Runs(uniqueEmail()); // the dummy hash is made once per isolate
    try {
      const wrong = await pbkdf2Runs(who.email);
      expect(wrong).toStrictEqual([100_000]);
      // Without the dummy verification an unknown email would answer with no derivation at all.
      expect(await pbkdf2Runs(uniqueEmail())).toStrictEqual(wrong);
    } finally {
      derive.mockRestore();
    }
  });

  it('answers a locked-out attempt exactly like an unknown email: status, body, headers and hashing work', async () => {
    const who = await registerCustomer();
    const ip = randomIp();
    const from = (email: string, password: string) =>
      post('/v1/auth/customers/login', { email, password }, { 'CF-Connecting-IP': ip });
    for (let i = 0; i < CUSTOMER_LOCK.freeFailures; i++) {
      expect((await from(who.email, `wrong-${i}`)).status).toBe(401);
    }
    const derive = vi.spyOn(crypto.subtle, 'deriveBits');
    const attempt = async (email: string) => {
      derive.mockClear();
      const res = await from(email, PASSWORD);
      const runs = derive.mock.calls.map(([algorithm]) => (algorithm as { iterations?: number }).iterations);
      return { res, runs };
    };
    try {
      await attempt(uniqueEmail()); // the dummy hash is made once per isolate
      const locked = await attempt(who.email);
      const unknown = await attempt(uniqueEmail());
      expect(locked.runs).toStrictEqual([100_000]);
      expect(unknown.runs).toStrictEqual(locked.runs);
      expect([locked.res.status, unknown.res.status]).toStrictEqual([401, 401]);
      // Everything but the request id and the measured durations.
      const headers = (res: Response) =>
        [...res.headers]
          .filter(([name]) => name !== 'x-request-id')
          .map(([name, value]) => [
            name,
            name === 'server-timing' ? value.replace(/dur=[\d.]+/g, '') : value,
          ]);
      expect(headers(locked.res)).toStrictEqual(headers(unknown.res));
      expect(withoutRequestId(await problemOf(locked.res))).toStrictEqual(
        withoutRequestId(await problemOf(unknown.res)),
      );
    } finally {
      derive.mockRestore();
    }
    // The lock held: the right password was refused without counting, and no session was started.
    expect(await count('SELECT COUNT(*) AS n FROM sessions WHERE principal_id = ?', who.id)).toBe(1);
    expect(
      await env.DB.prepare('SELECT failures FROM login_failures WHERE principal_id = ? AND network = ?')
        .bind(who.id, ip)
        .first(),
    ).toStrictEqual({ failures: CUSTOMER_LOCK.freeFailures });
  });

  it('does not lock the owner out: after a lock from one network, the right password from another succeeds', async () => {
    const who = await registerCustomer();
    const attacker = randomIp();
    for (let i = 0; i < CUSTOMER_LOCK.freeFailures; i++) {
      const res = await post(
        '/v1/auth/customers/login',
        { email: who.email, password: `wrong-${i}` },
        { 'CF-Connecting-IP': attacker },
      );
      expect(res.status).toBe(401);
    }
    const locked = await post(
      '/v1/auth/customers/login',
      { email: who.email, password: PASSWORD },
      { 'CF-Connecting-IP': attacker },
    );
    expect(locked.status).toBe(401);
    const res = await post(
      '/v1/auth/customers/login',
      { email: who.email, password: PASSWORD },
      { 'CF-Connecting-IP': randomIp() },
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as { customer: { id: string } }).customer.id).toBe(who.id);
  });

  it('signs in with the right password, whatever the case of the email', async () => {
    const who = await registerCustomer();
    const res = await signIn(who.email.toUpperCase());
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const body = (await res.json()) as { customer: { id: string }; tokens: Tokens };
    expect(body.customer.id).toBe(who.id);
    expect((await call('/v1/store/customers/me', { headers: bearer(body.tokens.access_token) })).status).toBe(
      200,
    );
  });
});

describe('refresh tokens', () => {
  it('rotate on every use, and a replayed one revokes the whole family', async () => {
    const who = await registerCustomer();
    const first = await post('/v1/auth/customers/refresh', { refresh_token: who.tokens.refresh_token });
    expect(first.status).toBe(200);
    expect(first.headers.get('Cache-Control')).toBe('no-store');
    const rotated = (await first.json()) as Tokens;
    expect(rotated).toStrictEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 900,
      refresh_token: expect.stringMatching(/^rt_/),
    });
    expect(rotated.refresh_token).not.toBe(who.tokens.refresh_token);
    expect((await call('/v1/store/customers/me', { headers: bearer(rotated.access_token) })).status).toBe(
      200,
    );

    const replay = await post('/v1/auth/customers/refresh', { refresh_token: who.tokens.refresh_token });
    expect(replay.status).toBe(401);
    expect(replay.headers.get('WWW-Authenticate')).toBe('Bearer realm="edgecart", error="invalid_token"');
    expect(await problemOf(replay)).toStrictEqual({
      type: 'https://edgecart.dev/problems/refresh_token_reused',
      title: 'Unauthorized',
      status: 401,
      detail: 'The refresh token was already used; the session is revoked.',
      code: 'refresh_token_reused',
      request_id: expect.any(String),
    });
    // The replay ended the session: the newest tokens (perhaps the thief's) are dead too.
    expect((await post('/v1/auth/customers/refresh', { refresh_token: rotated.refresh_token })).status).toBe(
      401,
    );
    const me = await call('/v1/store/customers/me', { headers: bearer(rotated.access_token) });
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
    expect(await problemOf(res)).toStrictEqual({
      type: 'https://edgecart.dev/problems/invalid_refresh_token',
      title: 'Unauthorized',
      status: 401,
      detail: 'The refresh token is not valid.',
      code: 'invalid_refresh_token',
      request_id: expect.any(String),
    });
  });

  it('refuses a staff refresh token without consuming it', async () => {
    const staff = await startSession(createDb(env.DB), { principalType: 'staff', principalId: 'stf_test' });
    const res = await post('/v1/auth/customers/refresh', { refresh_token: staff.refreshToken });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe('invalid_refresh_token');
    expect(
      await env.DB.prepare(
        'SELECT s.revoked_at, t.used_at FROM sessions s JOIN refresh_tokens t ON t.session_id = s.id WHERE s.id = ?',
      )
        .bind(staff.sessionId)
        .first(),
    ).toStrictEqual({ revoked_at: null, used_at: null });
  });

  it('end with logout: the session is revoked, its access and refresh tokens stop working', async () => {
    const who = await registerCustomer();
    const out = await call('/v1/auth/customers/logout', {
      method: 'POST',
      headers: bearer(who.tokens.access_token),
    });
    expect(out.status).toBe(204);
    expect(
      await env.DB.prepare('SELECT revoked_reason FROM sessions WHERE principal_id = ?').bind(who.id).first(),
    ).toStrictEqual({ revoked_reason: 'logout' });
    expect((await call('/v1/store/customers/me', { headers: bearer(who.tokens.access_token) })).status).toBe(
      401,
    );
    expect(
      (await post('/v1/auth/customers/refresh', { refresh_token: who.tokens.refresh_token })).status,
    ).toBe(401);
  });
});

describe('token misuse', () => {
  it('refuses a customer token on admin routes and a missing token on account routes', async () => {
    const who = await registerCustomer();
    const admin = await call('/v1/admin/products', { headers: bearer(who.tokens.access_token) });
    expect(admin.status).toBe(401);
    expect((await problemOf(admin)).code).toBe('invalid_token');
    const anonymous = await call('/v1/store/customers/me');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('WWW-Authenticate')).toBe('Bearer realm="edgecart"');
    expect((await problemOf(anonymous)).code).toBe('unauthenticated');
  });

  it('never caches account responses at the edge', async () => {
    const who = await registerCustomer();
    const res = await call('/v1/store/customers/me', {
      cf: { country: 'DE' },
      headers: bearer(who.tokens.access_token),
    });
    expect(res.headers.get('X-Cache')).toBeNull();
    expect(res.headers.get('Cache-Control')).toBe('no-store');
  });
});
