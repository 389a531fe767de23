/**
 * Every single-use staff credential, presented twice at the same moment (Promise.all through the Worker):
 * exactly one request succeeds and storage shows one use.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createDb } from '../../src/lib/db';
import { base32Decode, hotp, totpStep } from '../../src/lib/totp';
import { newRecoveryCodes } from '../../src/modules/staff-auth/recovery-codes';
import { post } from '../helpers/http';
import {
  codeFor,
  holdClockMidTotpStep,
  insertPendingInvite,
  insertStaffWithMfa,
  login,
  PASSWORD,
  signedInStaff,
} from '../helpers/staff';

holdClockMidTotpStep();

const statuses = (responses: Response[]) => responses.map((r) => r.status).sort();
const count = async (sql: string, ...binds: unknown[]) =>
  (
    await env.DB.prepare(sql)
      .bind(...binds)
      .first<{ n: number }>()
  )?.n;
const sessionCount = (staffId: string) =>
  count('SELECT COUNT(*) AS n FROM sessions WHERE principal_id = ?', staffId);

async function mfaToken(email: string): Promise<string> {
  const res = await login(email);
  expect(res.status).toBe(200);
  return ((await res.json()) as { mfa_token: string }).mfa_token;
}

describe('concurrent use of one single-use staff credential', () => {
  it('the same TOTP code in two MFA verifications (two logins): one signs in', async () => {
    const { staff, secret } = await insertStaffWithMfa('owner');
    const [first, second] = [await mfaToken(staff.email), await mfaToken(staff.email)];
    // A code for a step fixed here, so the assertion below does not depend on when the step turns.
    const step = totpStep(Date.now());
    const code = await hotp(base32Decode(secret) as Uint8Array, step);
    const twice = await Promise.all([
      post('/v1/auth/staff/mfa/verify', { mfa_token: first, code }),
      post('/v1/auth/staff/mfa/verify', { mfa_token: second, code }),
    ]);
    expect(statuses(twice)).toStrictEqual([200, 401]);
    expect(await sessionCount(staff.id)).toBe(1);
    expect(await count('SELECT mfa_last_step AS n FROM staff_users WHERE id = ?', staff.id)).toBe(step);
  });

  it('the same TOTP code twice on one MFA token: one signs in, the token is used once', async () => {
    const { staff, secret } = await insertStaffWithMfa('admin');
    const mfa_token = await mfaToken(staff.email);
    const code = await codeFor(secret);
    const twice = await Promise.all([
      post('/v1/auth/staff/mfa/verify', { mfa_token, code }),
      post('/v1/auth/staff/mfa/verify', { mfa_token, code }),
    ]);
    expect(statuses(twice)).toStrictEqual([200, 401]);
    expect(await sessionCount(staff.id)).toBe(1);
    expect(
      await count(
        "SELECT COUNT(*) AS n FROM one_time_tokens WHERE principal_id = ? AND purpose = 'staff_mfa' AND used_at IS NOT NULL",
        staff.id,
      ),
    ).toBe(1);
  });

  it('two different valid codes on one MFA token: the token still opens one session', async () => {
    const { staff, secret } = await insertStaffWithMfa('owner');
    const mfa_token = await mfaToken(staff.email);
    const twice = await Promise.all([
      post('/v1/auth/staff/mfa/verify', { mfa_token, code: await codeFor(secret, -1) }),
      post('/v1/auth/staff/mfa/verify', { mfa_token, code: await codeFor(secret) }),
    ]);
    expect(twice.filter((r) => r.status === 200)).toHaveLength(1);
    expect(await sessionCount(staff.id)).toBe(1);
  });

  it('the same recovery code in two MFA verifications: one signs in, the code is used once', async () => {
    const { staff } = await insertStaffWithMfa('owner');
    const db = createDb(env.DB);
    const recovery = await newRecoveryCodes(db, staff.id);
    await db.batch(recovery.statements);
    const [first, second] = [await mfaToken(staff.email), await mfaToken(staff.email)];
    const recovery_code = recovery.codes[0] as string;
    const twice = await Promise.all([
      post('/v1/auth/staff/mfa/verify', { mfa_token: first, recovery_code }),
      post('/v1/auth/staff/mfa/verify', { mfa_token: second, recovery_code }),
    ]);
    expect(statuses(twice)).toStrictEqual([200, 401]);
    expect(await sessionCount(staff.id)).toBe(1);
    expect(
      await count(
        'SELECT COUNT(*) AS n FROM staff_recovery_codes WHERE staff_id = ? AND used_at IS NOT NULL',
        staff.id,
      ),
    ).toBe(1);
    expect(
      await count(
        "SELECT COUNT(*) AS n FROM audit_log WHERE target_id = ? AND action = 'staff.recovery_code_use'",
        staff.id,
      ),
    ).toBe(1);
  });

  it('the same staff refresh token twice: one rotation succeeds, one new token is issued', async () => {
    const { staff, tokens } = await signedInStaff('support');
    const twice = await Promise.all([
      post('/v1/auth/staff/refresh', { refresh_token: tokens.refresh_token }),
      post('/v1/auth/staff/refresh', { refresh_token: tokens.refresh_token }),
    ]);
    expect(statuses(twice)).toStrictEqual([200, 401]);
    expect(
      await env.DB.prepare(
        'SELECT COUNT(*) AS issued, SUM(t.used_at IS NOT NULL) AS used FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE s.principal_id = ?',
      )
        .bind(staff.id)
        .first(),
    ).toStrictEqual({ issued: 2, used: 1 });
  });

  it('the same invitation accepted three times at once: one account, one acceptance, one audit entry', async () => {
    const { invite, token } = await insertPendingInvite('support');
    const thrice = await Promise.all(
      ['Ana', 'Bea', 'Cid'].map((name) =>
        post('/v1/auth/staff/invites/accept', { token, name, password: PASSWORD }),
      ),
    );
    expect(statuses(thrice)).toStrictEqual([201, 400, 400]);
    expect(await count('SELECT COUNT(*) AS n FROM staff_users WHERE email = ?', invite.email)).toBe(1);
    expect(
      await count(
        'SELECT COUNT(*) AS n FROM staff_invites WHERE id = ? AND accepted_at IS NOT NULL',
        invite.id,
      ),
    ).toBe(1);
    expect(
      await count(
        "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'staff.create' AND target_id IN (SELECT id FROM staff_users WHERE email = ?)",
        invite.email,
      ),
    ).toBe(1);
  });
});
