import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { refreshTokens } from '../../src/db/schema';
import { sha256Hex } from '../../src/lib/crypto';
import { createDb } from '../../src/lib/db';
import { post, randomIp } from '../helpers/http';
import { expectRateLimited, inOneRateLimitWindow } from '../helpers/rate-limits';
import {
  codeFor,
  insertStaffWithMfa,
  insertStaffWithPassword,
  PASSWORD,
  signedInStaff,
  type Tokens,
} from '../helpers/staff';
import { unique } from '../helpers/unique';

/** Each scenario runs inside one rate-limit window with fresh IPs and accounts (see test/helpers/rate-limits.ts). */
describe('staff auth rate limits', () => {
  it('limits login attempts per client IP, whatever the account', async () => {
    await inOneRateLimitWindow(async () => {
      const ip = randomIp();
      const statuses = [];
      for (let i = 0; i < 31; i++) {
        const res = await post(
          '/v1/auth/staff/login',
          { email: `${unique('x')}@example.com`, password: 'x' },
          { 'CF-Connecting-IP': ip },
        );
        statuses.push(res.status);
        if (res.status === 429) await expectRateLimited(res);
      }
      expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
      expect(statuses[30]).toBe(429);
      const otherIp = await post('/v1/auth/staff/login', { email: 'someone@example.com', password: 'x' });
      expect(otherIp.status).toBe(401);
    });
  });

  it('limits login attempts per account, from any IP, even with the right password', async () => {
    await inOneRateLimitWindow(async () => {
      const staff = await insertStaffWithPassword('support');
      for (let i = 0; i < 10; i++)
        await post('/v1/auth/staff/login', { email: staff.email, password: `wrong ${i}` });
      const res = await post('/v1/auth/staff/login', { email: staff.email, password: PASSWORD });
      expect(res.status).toBe(429);
      expect(res.headers.get('Retry-After')).toBe('60');
    });
  });

  it('limits MFA attempts per account, across challenges and IPs', async () => {
    await inOneRateLimitWindow(async () => {
      const { staff, secret } = await insertStaffWithMfa('owner');
      const challenge = async () =>
        (
          (await (await post('/v1/auth/staff/login', { email: staff.email, password: PASSWORD })).json()) as {
            mfa_token: string;
          }
        ).mfa_token;
      const tokens = [await challenge(), await challenge()];
      const statuses = [];
      for (let i = 0; i < 11; i++) {
        const mfa_token = tokens[i % 2];
        statuses.push(
          (await post('/v1/auth/staff/mfa/verify', { mfa_token, code: await codeFor(secret, 9) })).status,
        );
      }
      expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
      expect(statuses[10]).toBe(429);
    });
  });

  it('limits refreshes per account, from any IP, without consuming the refused token', async () => {
    await inOneRateLimitWindow(async () => {
      const { tokens } = await signedInStaff('support');
      let token = tokens.refresh_token;
      for (let i = 0; i < 10; i++) {
        const res = await post(
          '/v1/auth/staff/refresh',
          { refresh_token: token },
          { 'CF-Connecting-IP': randomIp() },
        );
        expect(res.status).toBe(200);
        token = ((await res.json()) as Tokens).refresh_token;
      }
      await expectRateLimited(
        await post('/v1/auth/staff/refresh', { refresh_token: token }, { 'CF-Connecting-IP': randomIp() }),
      );
      const row = await createDb(env.DB)
        .select()
        .from(refreshTokens)
        .where(eq(refreshTokens.tokenHash, await sha256Hex(token)))
        .get();
      expect(row?.usedAt).toBeNull();
    });
  });

  it('limits every step of the flow per IP: MFA, enrollment, refresh, invite acceptance', async () => {
    await inOneRateLimitWindow(async () => {
      for (const [path, body] of [
        ['/v1/auth/staff/mfa/verify', { mfa_token: 'mfa_x', code: '123456' }],
        ['/v1/auth/staff/mfa/enrollment', { enrollment_token: 'enroll_x' }],
        ['/v1/auth/staff/refresh', { refresh_token: 'rt_x' }],
        ['/v1/auth/staff/invites/accept', { token: 'x', name: 'A', password: PASSWORD }],
      ] as const) {
        const ip = randomIp();
        let last = 0;
        for (let i = 0; i < 31; i++) last = (await post(path, body, { 'CF-Connecting-IP': ip })).status;
        expect(last, path).toBe(429);
      }
    });
  });
});
