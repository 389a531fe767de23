/**
 * Abuse limits on customer auth, against the real local rate limiting binding. It counts in fixed 60-second
 * windows aligned to the clock: every scenario that counts up to a limit runs inside one window
 * (`inOneRateLimitWindow`, with fresh IPs and accounts per run), and "recovering" by waiting would cost up to a
 * minute, so recovery is shown by a different key (IP or account) passing while one is limited, and by the
 * account lock running out (its locked_until moved into the past in D1).
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { BASE_LOCK_MS, FREE_FAILURES } from '../../src/modules/customers/auth-service';
import { seedRegions } from '../helpers/catalog-fixtures';
import { PASSWORD, registerCustomer, signIn, type Tokens } from '../helpers/customers';
import { post, problemOf, randomIp } from '../helpers/http';
import { expectRateLimited, inOneRateLimitWindow } from '../helpers/rate-limits';
import { uniqueEmail } from '../helpers/unique';

beforeAll(seedRegions);

const lockState = (id: string) =>
  env.DB.prepare('SELECT failed_logins, locked_until FROM customers WHERE id = ?')
    .bind(id)
    .first<{ failed_logins: number; locked_until: number | null }>();
const endLock = (id: string) =>
  env.DB.prepare('UPDATE customers SET locked_until = ? WHERE id = ?')
    .bind(Date.now() - 1, id)
    .run();

describe('failed-login slow-down', () => {
  it('locks after repeated failures, longer each time, refusing even the right password; a success resets it', async () => {
    // Nine attempts on one account, under its limit of ten a minute in any window: no rate limit in the way.
    const who = await registerCustomer();
    const beforeFailures = Date.now();
    for (let i = 0; i < FREE_FAILURES; i++) expect((await signIn(who.email, `wrong-${i}`)).status).toBe(401);
    const afterFailures = Date.now();
    const first = await lockState(who.id);
    expect(first?.failed_logins).toBe(FREE_FAILURES);
    const lockedUntil = first?.locked_until ?? 0;
    expect(lockedUntil).toBeGreaterThanOrEqual(beforeFailures + BASE_LOCK_MS);
    expect(lockedUntil).toBeLessThanOrEqual(afterFailures + BASE_LOCK_MS);

    const beforeLocked = Date.now();
    const locked = await signIn(who.email, PASSWORD);
    const afterLocked = Date.now();
    expect(locked.status).toBe(429);
    // Retry-After is the rest of the lock, in whole seconds rounded up, as of when the Worker answered.
    const retryAfter = Number(locked.headers.get('Retry-After'));
    expect(retryAfter).toBeGreaterThanOrEqual(Math.ceil((lockedUntil - afterLocked) / 1000));
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil((lockedUntil - beforeLocked) / 1000));
    expect(await problemOf(locked)).toStrictEqual({
      type: 'https://edgecart.dev/problems/account_locked',
      title: 'Too Many Requests',
      status: 429,
      detail: 'Too many failed sign-ins; try again later.',
      code: 'account_locked',
      request_id: expect.any(String),
    });
    // Refused while locked: the attempt neither counted nor moved the lock.
    expect(await lockState(who.id)).toStrictEqual(first);

    // The lock runs out; one more failure locks again, for twice as long.
    await endLock(who.id);
    const beforeSecond = Date.now();
    expect((await signIn(who.email, 'wrong again')).status).toBe(401);
    const afterSecond = Date.now();
    const second = await lockState(who.id);
    expect(second?.failed_logins).toBe(FREE_FAILURES + 1);
    expect(second?.locked_until).toBeGreaterThanOrEqual(beforeSecond + 2 * BASE_LOCK_MS);
    expect(second?.locked_until).toBeLessThanOrEqual(afterSecond + 2 * BASE_LOCK_MS);

    await endLock(who.id);
    expect((await signIn(who.email, PASSWORD)).status).toBe(200);
    expect(await lockState(who.id)).toStrictEqual({ failed_logins: 0, locked_until: null });
  });
});

describe('per-IP limit (30 a minute, CF-Connecting-IP)', () => {
  it('trips on login across accounts; another IP is not limited', async () => {
    await inOneRateLimitWindow(async () => {
      const ip = randomIp();
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) {
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
      expect(statuses).toStrictEqual(Array(30).fill(401));
      await expectRateLimited(
        await post(
          '/v1/auth/customers/login',
          { email: uniqueEmail(), password: 'x' },
          { 'CF-Connecting-IP': ip },
        ),
      );
      expect((await post('/v1/auth/customers/login', { email: uniqueEmail(), password: 'x' })).status).toBe(
        401,
      );
    });
  });

  it.each([
    ['/v1/auth/customers/refresh', { refresh_token: 'rt_guess' }, 401],
    ['/v1/auth/customers/verify-email', { token: 'guess' }, 400],
    ['/v1/auth/customers/password-reset/confirm', { token: 'guess', password: PASSWORD }, 400],
    ['/v1/auth/customers/oidc', { provider: 'https://nobody.test', id_token: 'x' }, 422],
  ])('trips on %s', async (path, body, status) => {
    await inOneRateLimitWindow(async () => {
      const ip = randomIp();
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push((await post(path, body, { 'CF-Connecting-IP': ip })).status);
      expect(statuses).toStrictEqual(Array(30).fill(status));
      await expectRateLimited(await post(path, body, { 'CF-Connecting-IP': ip }));
      expect((await post(path, body)).status).toBe(status);
    });
  });
});

describe('per-account limit (10 a minute, by normalized email or customer)', () => {
  it('trips on login from any IP, even with the right password; another account is not limited', async () => {
    await inOneRateLimitWindow(async () => {
      const who = await registerCustomer();
      const other = await registerCustomer();
      // The sign-up was the account's first attempt of the window.
      for (let i = 0; i < 9; i++) {
        const email = i % 2 === 0 ? who.email : who.email.toUpperCase();
        expect((await signIn(email)).status).toBe(200);
      }
      await expectRateLimited(await signIn(who.email));
      expect((await signIn(other.email)).status).toBe(200);
    });
  });

  it('trips on register for one email', async () => {
    await inOneRateLimitWindow(async () => {
      const email = uniqueEmail('target');
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) {
        statuses.push((await post('/v1/auth/customers/register', { email, password: PASSWORD })).status);
      }
      expect(statuses).toStrictEqual([201, ...Array(9).fill(409)]);
      await expectRateLimited(
        await post('/v1/auth/customers/register', { email: email.toUpperCase(), password: PASSWORD }),
      );
      expect(
        (await post('/v1/auth/customers/register', { email: uniqueEmail(), password: PASSWORD })).status,
      ).toBe(201);
    });
  });

  it('trips on password reset requests, for unknown emails too', async () => {
    await inOneRateLimitWindow(async () => {
      const email = uniqueEmail('target');
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) {
        statuses.push((await post('/v1/auth/customers/password-reset/request', { email })).status);
      }
      expect(statuses).toStrictEqual(Array(10).fill(202));
      await expectRateLimited(await post('/v1/auth/customers/password-reset/request', { email }));
      expect((await post('/v1/auth/customers/password-reset/request', { email: uniqueEmail() })).status).toBe(
        202,
      );
    });
  });

  it('trips on refresh for one customer, without consuming the refused token', async () => {
    await inOneRateLimitWindow(async () => {
      const who = await registerCustomer();
      const other = await registerCustomer();
      let token = who.tokens.refresh_token;
      for (let i = 0; i < 10; i++) {
        const res = await post('/v1/auth/customers/refresh', { refresh_token: token });
        expect(res.status).toBe(200);
        token = ((await res.json()) as Tokens).refresh_token;
      }
      await expectRateLimited(await post('/v1/auth/customers/refresh', { refresh_token: token }));
      // The newest token is still the one unused token of a live session: it works once the window passes.
      const state = await env.DB.prepare(
        'SELECT SUM(t.used_at IS NULL) AS unused, MAX(s.revoked_at) AS revoked FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE s.principal_id = ?',
      )
        .bind(who.id)
        .first();
      expect(state).toStrictEqual({ unused: 1, revoked: null });
      expect(
        (await post('/v1/auth/customers/refresh', { refresh_token: other.tokens.refresh_token })).status,
      ).toBe(200);
    });
  });
});
