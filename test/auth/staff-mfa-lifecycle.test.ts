import { env } from 'cloudflare:workers';
import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditLog, sessions, staffRecoveryCodes, staffUsers } from '../../src/db/schema';
import { createDb } from '../../src/lib/db';
import { expectNoWrites } from '../helpers/admin';
import { bearer, call, jsonInit, post, problemOf } from '../helpers/http';
import { codeFor, login, PASSWORD, signedInStaff } from '../helpers/staff';

const db = () => createDb(env.DB);
const requestEnrollment = (accessToken: string, password = PASSWORD) =>
  call('/v1/auth/staff/mfa/enrollment-token', jsonInit('POST', { password }, bearer(accessToken)));

describe('turning MFA on by choice', () => {
  it('lets a signed-in member enroll after confirming the password; later logins ask for a code', async () => {
    const { staff, tokens } = await signedInStaff('catalog_manager');
    const wrong = await requestEnrollment(tokens.access_token, 'not my password');
    expect(wrong.status).toBe(401);
    expect((await problemOf(wrong)).code).toBe('invalid_credentials');

    const res = await requestEnrollment(tokens.access_token);
    expect(res.status).toBe(200);
    const { enrollment_token } = (await res.json()) as { enrollment_token: string };
    const { secret } = (await (await post('/v1/auth/staff/mfa/enrollment', { enrollment_token })).json()) as {
      secret: string;
    };
    const confirmed = await post('/v1/auth/staff/mfa/enrollment/confirm', {
      enrollment_token,
      code: await codeFor(secret),
    });
    expect(confirmed.status).toBe(200);

    const next = (await (await login(staff.email)).json()) as Record<string, unknown>;
    expect(next.mfa_required).toBe(true);
  });

  it('needs a staff access token, and refuses a member who already has MFA', async () => {
    const anonymous = await call(
      '/v1/auth/staff/mfa/enrollment-token',
      jsonInit('POST', { password: PASSWORD }),
    );
    expect(anonymous.status).toBe(401);
    const { tokens } = await signedInStaff('owner');
    const res = await expectNoWrites(() => requestEnrollment(tokens.access_token));
    expect(res.status).toBe(409);
    expect((await problemOf(res)).code).toBe('mfa_already_enabled');
  });
});

describe('POST /v1/admin/staff/{id}/mfa/reset', () => {
  it('clears MFA and recovery codes, signs the member out, audits it; an admin must enroll again', async () => {
    const owner = await signedInStaff('owner');
    const admin = await signedInStaff('admin');
    await db()
      .insert(staffRecoveryCodes)
      .values({ id: 'rcv_test', staffId: admin.staff.id, codeHash: 'x'.repeat(64) });

    const res = await call(`/v1/admin/staff/${admin.staff.id}/mfa/reset`, {
      method: 'POST',
      headers: bearer(owner.tokens.access_token),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { mfa_enabled: boolean }).mfa_enabled).toBe(false);
    const row = await db().select().from(staffUsers).where(eq(staffUsers.id, admin.staff.id)).get();
    expect([row?.mfaSecretEncrypted, row?.mfaEnabledAt, row?.mfaLastStep]).toStrictEqual([null, null, null]);
    expect(
      await db().select().from(staffRecoveryCodes).where(eq(staffRecoveryCodes.staffId, admin.staff.id)),
    ).toStrictEqual([]);
    const live = (await db().select().from(sessions).where(eq(sessions.principalId, admin.staff.id))).filter(
      (s) => !s.revokedAt,
    );
    expect(live).toStrictEqual([]);
    const audit = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.targetId, admin.staff.id), eq(auditLog.action, 'staff.mfa_reset')));
    expect(audit.map((a) => [a.actorId, a.changes])).toStrictEqual([
      [owner.staff.id, { mfa_enabled: { from: true, to: false } }],
    ]);

    expect((await call('/v1/admin/audit-log', { headers: bearer(admin.tokens.access_token) })).status).toBe(
      401,
    );
    const next = (await (await login(admin.staff.email)).json()) as Record<string, unknown>;
    expect(next.mfa_enrollment_required).toBe(true);
  });

  it('refuses an admin resetting an owner, and anyone resetting their own', async () => {
    const owner = await signedInStaff('owner');
    const admin = await signedInStaff('admin');
    const cases = [
      [admin.tokens.access_token, owner.staff.id, 'owner_only'],
      [owner.tokens.access_token, owner.staff.id, 'cannot_change_self'],
    ] as const;
    for (const [token, target, code] of cases) {
      const res = await expectNoWrites(() =>
        call(`/v1/admin/staff/${target}/mfa/reset`, { method: 'POST', headers: bearer(token) }),
      );
      expect(res.status).toBe(403);
      expect((await problemOf(res)).code).toBe(code);
    }
  });
});
