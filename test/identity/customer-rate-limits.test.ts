/**
 * Abuse limits on customer auth, against the real local rate limiting binding. It counts in fixed 60-second
 * windows aligned to the clock: every scenario that counts up to a limit runs inside one window
 * (`inOneRateLimitWindow`, with fresh IPs and accounts per run), and "recovering" by waiting would cost up to a
 * minute, so recovery is shown by a different key (IP or account) passing while one is limited, and by a
 * network's lock running out (its locked_until moved into the past in D1).
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { CUSTOMER_LOCK } from '../../src/modules/customers/auth-service';
import { seedRegions } from '../helpers/catalog-fixtures';
import { INVALID_CREDENTIALS, PASSWORD, registerCustomer, signIn, type Tokens } from '../helpers/customers';
import { post, problemOf, randomIp } from '../helpers/http';
import { expectRateLimited, inOneRateLimitWindow } from '../helpers/rate-limits';
import { uniqueEmail } from '../helpers/unique';

beforeAll(seedRegions);

const lockState = (id: string, ip: string) =>
  env.DB.prepare('SELECT failures, locked_until FROM login_failures WHERE principal_id = ? AND network = ?')
    .bind(id, ip)
    .first<{ failures: number; locked_until: number | null }>();
const endLock = (id: string, ip: string) =>
  env.DB.prepare('UPDATE login_failures SET locked_until = ? WHERE principal_id = ? AND network = ?')
    .bind(Date.now() - 1, id, ip)
    .run();
const signInFrom = (ip: string, email: string, password = PASSWORD) =>
  post('/v1/auth/customers/login', { email, password }, { 'CF-Connecting-IP': ip });

describe('failed-login slow-down (per account and client network)', () => {
  it('locks the failing network out, longer each time, answering like a wrong password; other networks and a success are unaffected', async () => {
    // Nine attempts on one account, under its limit of ten a minute in any window: no rate limit in the way.
    const who = await registerCustomer();
    const [attacker, owner] = [randomIp(), randomIp()];
    const { freeFailures, baseLockMs } = CUSTOMER_LOCK;
    // Lock times are bracketed between clock readings taken around the requests: no slack to outrun.
    const beforeFailures = Date.now();
    for (let i = 0; i < freeFailures; i++) {
      expect((await signInFrom(attacker, who.email, `wrong-${i}`)).status).toBe(401);
    }
    const afterFailures = Date.now();
    const first = await lockState(who.id, attacker);
    expect(first?.failures).toBe(freeFailures);
    expect(first?.locked_until).toBeGreaterThanOrEqual(beforeFailures + baseLockMs);
    expect(first?.locked_until).toBeLessThanOrEqual(afterFailures + baseLockMs);

    // The right password from the locked network is refused exactly like a wrong one, and moves nothing.
    const locked = await signInFrom(attacker, who.email);
    expect(locked.status).toBe(401);
    expect(locked.headers.get('Retry-After')).toBeNull();
    expect(await problemOf(locked)).toStrictEqual(INVALID_CREDENTIALS);
    expect(await lockState(who.id, attacker)).toStrictEqual(first);

    // The owner, elsewhere, is not locked out; their success leaves the attacker's lock in place.
    expect((await signInFrom(owner, who.email)).status).toBe(200);
    expect(await lockState(who.id, owner)).toBeNull();
    expect(await lockState(who.id, attacker)).toStrictEqual(first);

    // The lock runs out; one more failure locks again, for twice as long.
    await endLock(who.id, attacker);
    const beforeSecond = Date.now();
    expect((await signInFrom(attacker, who.email, 'wrong again')).status).toBe(401);
    const afterSecond = Date.now();
    const second = await lockState(who.id, attacker);
    expect(second?.failures).toBe(freeFailures + 1);
    expect(second?.locked_until).toBeGreaterThanOrEqual(beforeSecond + 2 * baseLockMs);
    expect(second?.locked_until).toBeLessThanOrEqual(afterSecond + 2 * baseLockMs);

    await endLock(who.id, attacker);
    expect((await signInFrom(attacker, who.email)).status).toBe(200);
    expect(await lockState(who.id, attacker)).toBeNull();
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
