import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { sessions, staffUsers } from '../../src/db/schema';
import { createDb } from '../../src/lib/db';
import { expectNoWrites } from '../helpers/admin';
import { bearer, call, post, problemOf, randomIp } from '../helpers/http';
import {
  insertStaffWithMfa,
  insertStaffWithPassword,
  login,
  PASSWORD,
  signInWithMfa,
  type Tokens,
} from '../helpers/staff';

const db = () => createDb(env.DB);
const tokensBody = {
  access_token: expect.any(String),
  token_type: 'Bearer',
  expires_in: expect.any(Number),
  refresh_token: expect.any(String),
};
const failuresOf = (staffId: string, network: string) =>
  env.DB.prepare('SELECT failures, locked_until FROM login_failures WHERE principal_id = ? AND network = ?')
    .bind(staffId, network)
    .first<{ failures: number; locked_until: number | null }>();
const sessionsOf = (staffId: string) =>
  db().select().from(sessions).where(eq(sessions.principalId, staffId)).all();

describe('staff login without MFA', () => {
  it('signs in a role that does not require MFA, with an admin token scoped to the role', async () => {
    const staff = await insertStaffWithPassword('read_only');
    const res = await login(staff.email.toUpperCase());
    expect(res.status).toBe(200);
    const tokens = (await res.json()) as Tokens;
    expect(tokens).toStrictEqual(tokensBody);
    expect(await sessionsOf(staff.id)).toHaveLength(1);

    const allowed = await call('/v1/admin/audit-log', { headers: bearer(tokens.access_token) });
    expect(allowed.status).toBe(200);
    const refused = await call('/v1/admin/staff', { headers: bearer(tokens.access_token) });
    expect(refused.status).toBe(403);
    expect((await problemOf(refused)).detail).toBe('This action needs the "staff:manage" permission.');
  });

  it('answers a wrong password, an unknown email and a disabled account alike, without a session', async () => {
    const staff = await insertStaffWithPassword('support');
    const disabled = await insertStaffWithPassword('support');
    await db().update(staffUsers).set({ status: 'disabled' }).where(eq(staffUsers.id, disabled.id));
    const attempts = [
      login(staff.email, 'wrong password'),
      login('nobody@example.com'),
      login(disabled.email),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(401);
      expect(await problemOf(res)).toStrictEqual({
        type: 'https://edgecart.dev/problems/invalid_credentials',
        title: 'Unauthorized',
        status: 401,
        detail: 'The email or password is wrong.',
        code: 'invalid_credentials',
        request_id: expect.any(String),
      });
    }
    expect(await sessionsOf(staff.id)).toHaveLength(0);
    expect(await sessionsOf(disabled.id)).toHaveLength(0);
  });

  it('locks the failing network out after 5 failures, answering the right password like a wrong one; other networks sign in', async () => {
    const staff = await insertStaffWithPassword('support');
    const [attacker, member] = [randomIp(), randomIp()];
    const from = (ip: string, password: string) =>
      post('/v1/auth/staff/login', { email: staff.email, password }, { 'CF-Connecting-IP': ip });
    const unknown = (ip: string) =>
      post(
        '/v1/auth/staff/login',
        { email: 'nobody@example.com', password: PASSWORD },
        { 'CF-Connecting-IP': ip },
      );
    for (let i = 0; i < 5; i++) expect((await from(attacker, 'wrong')).status).toBe(401);
    const row = await failuresOf(staff.id, attacker);
    expect(row?.failures).toBe(5);
    expect(row?.locked_until).toBeGreaterThan(Date.now() + 14 * 60_000);

    const locked = await from(attacker, PASSWORD);
    const stranger = await unknown(attacker);
    expect([locked.status, stranger.status]).toStrictEqual([401, 401]);
    const { request_id: _, ...lockedBody } = await problemOf(locked);
    const { request_id: __, ...strangerBody } = await problemOf(stranger);
    expect(lockedBody).toStrictEqual(strangerBody);
    expect(lockedBody.code).toBe('invalid_credentials');
    expect(await sessionsOf(staff.id)).toHaveLength(0);

    // The member, from their own network, is not locked out, and their login leaves the attacker's lock.
    expect((await from(member, PASSWORD)).status).toBe(200);
    expect(await failuresOf(staff.id, attacker)).toStrictEqual(row);

    await env.DB.prepare('UPDATE login_failures SET locked_until = ? WHERE principal_id = ? AND network = ?')
      .bind(Date.now() - 1, staff.id, attacker)
      .run();
    expect((await from(attacker, PASSWORD)).status).toBe(200);
    expect(await failuresOf(staff.id, attacker)).toBeNull();
  });

  it('rejects malformed bodies and unknown fields with 422', async () => {
    for (const body of [{ email: 'x' }, { email: 'a@example.com', password: 'p', role: 'owner' }]) {
      const res = await expectNoWrites(() => post('/v1/auth/staff/login', body));
      expect(res.status).toBe(422);
    }
  });
});

describe('owners and admins get no admin token before MFA', () => {
  it.each(['owner', 'admin'] as const)(
    'answers an un-enrolled %s with an enrollment token only',
    async (role) => {
      const staff = await insertStaffWithPassword(role);
      const res = await login(staff.email);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { enrollment_token: string };
      expect(body).toStrictEqual({
        mfa_enrollment_required: true,
        enrollment_token: expect.stringMatching(/^enroll_[A-Za-z0-9_-]{43}$/),
        expires_in: 900,
      });
      expect(await sessionsOf(staff.id)).toHaveLength(0);

      const asAdmin = await call('/v1/admin/audit-log', { headers: bearer(body.enrollment_token) });
      expect(asAdmin.status).toBe(401);
      const asMfa = await post('/v1/auth/staff/mfa/verify', {
        mfa_token: body.enrollment_token,
        code: '123456',
      });
      expect(asMfa.status).toBe(401);
      expect((await problemOf(asMfa)).code).toBe('invalid_mfa_token');
    },
  );

  it('answers a member with MFA with an MFA challenge only', async () => {
    const { staff } = await insertStaffWithMfa('support');
    const res = await login(staff.email);
    expect(await res.json()).toStrictEqual({
      mfa_required: true,
      mfa_token: expect.stringMatching(/^mfa_[A-Za-z0-9_-]{43}$/),
      expires_in: 300,
    });
    expect(await sessionsOf(staff.id)).toHaveLength(0);
  });

  it('refuses a token of an owner whose MFA was switched off since it was issued', async () => {
    const { staff, secret } = await insertStaffWithMfa('owner');
    const tokens = await signInWithMfa(staff.email, secret);
    expect((await call('/v1/admin/audit-log', { headers: bearer(tokens.access_token) })).status).toBe(200);
    await db().update(staffUsers).set({ mfaEnabledAt: null }).where(eq(staffUsers.id, staff.id));
    const res = await call('/v1/admin/audit-log', { headers: bearer(tokens.access_token) });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe('invalid_token');
  });
});
