import { env } from 'cloudflare:workers';
import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditLog, oneTimeTokens, sessions, staffRecoveryCodes, staffUsers } from '../../src/db/schema';
import { sha256Hex } from '../../src/lib/crypto';
import { createDb } from '../../src/lib/db';
import { totpStep } from '../../src/lib/totp';
import { bearer, call, post, problemOf } from '../helpers/http';
import {
  codeFor,
  holdClockMidTotpStep,
  insertStaffWithMfa,
  insertStaffWithPassword,
  login,
  type Tokens,
} from '../helpers/staff';

holdClockMidTotpStep();

const db = () => createDb(env.DB);
const staffRow = (id: string) => db().select().from(staffUsers).where(eq(staffUsers.id, id)).get();
const sessionsOf = (staffId: string) =>
  db().select().from(sessions).where(eq(sessions.principalId, staffId)).all();

async function mfaToken(email: string) {
  const res = await login(email);
  return ((await res.json()) as { mfa_token: string }).mfa_token;
}

async function enrollmentToken(email: string) {
  const res = await login(email);
  return ((await res.json()) as { enrollment_token: string }).enrollment_token;
}

describe('MFA enrollment', () => {
  it('enrolls an owner: secret, first code, tokens and ten recovery codes shown once', async () => {
    const owner = await insertStaffWithPassword('owner');
    const enrollment_token = await enrollmentToken(owner.email);

    const started = await post('/v1/auth/staff/mfa/enrollment', { enrollment_token });
    expect(started.status).toBe(200);
    const { secret, otpauth_uri } = (await started.json()) as { secret: string; otpauth_uri: string };
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(otpauth_uri).toBe(
      `otpauth://totp/edgecart:${encodeURIComponent(owner.email)}?secret=${secret}&issuer=edgecart&algorithm=SHA1&digits=6&period=30`,
    );
    const pending = await staffRow(owner.id);
    expect(pending?.mfaEnabledAt).toBeNull();
    expect(pending?.mfaSecretEncrypted).toMatch(/^v1\./);
    expect(pending?.mfaSecretEncrypted).not.toContain(secret);

    const wrong = await post('/v1/auth/staff/mfa/enrollment/confirm', {
      enrollment_token,
      code: String((Number(await codeFor(secret)) + 1) % 1_000_000).padStart(6, '0'),
    });
    expect(wrong.status).toBe(401);
    expect((await problemOf(wrong)).code).toBe('invalid_mfa_code');
    expect(await sessionsOf(owner.id)).toHaveLength(0);

    const codeSince = Date.now();
    const res = await post('/v1/auth/staff/mfa/enrollment/confirm', {
      enrollment_token,
      code: await codeFor(secret),
    });
    const codeUntil = Date.now();
    expect(res.status).toBe(200);
    const body = (await res.json()) as Tokens & { recovery_codes: string[] };
    expect(body).toStrictEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: expect.any(Number),
      refresh_token: expect.any(String),
      recovery_codes: expect.any(Array),
    });
    expect(body.recovery_codes).toHaveLength(10);
    for (const code of body.recovery_codes)
      expect(code).toMatch(/^([0-9A-HJKMNP-TV-Z]{4}-){3}[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(new Set(body.recovery_codes).size).toBe(10);

    const stored = await db()
      .select()
      .from(staffRecoveryCodes)
      .where(eq(staffRecoveryCodes.staffId, owner.id))
      .all();
    expect(stored).toHaveLength(10);
    for (const row of stored) {
      expect(row.codeHash).toMatch(/^[0-9a-f]{64}$/);
      expect(body.recovery_codes.join()).not.toContain(row.codeHash);
    }
    const enrolled = await staffRow(owner.id);
    expect(enrolled?.mfaEnabledAt).toBeInstanceOf(Date);
    // The step the code was made in: the one the test started in, or the next if a 30 s boundary fell in between.
    expect([totpStep(codeSince), totpStep(codeUntil)]).toContain(enrolled?.mfaLastStep);
    const audit = await db().select().from(auditLog).where(eq(auditLog.targetId, owner.id)).all();
    expect(audit.map((a) => [a.action, a.actorType, a.actorId, a.changes])).toStrictEqual([
      ['staff.mfa_enable', 'staff', owner.id, { mfa_enabled: { from: false, to: true } }],
    ]);

    expect((await call('/v1/admin/audit-log', { headers: bearer(body.access_token) })).status).toBe(200);

    const replay = await post('/v1/auth/staff/mfa/enrollment/confirm', {
      enrollment_token,
      code: await codeFor(secret, 1),
    });
    expect(replay.status).toBe(401);
    expect((await problemOf(replay)).code).toBe('invalid_mfa_token');
  });

  it('refuses to confirm before a secret was issued', async () => {
    const owner = await insertStaffWithPassword('admin');
    const enrollment_token = await enrollmentToken(owner.email);
    const early = await post('/v1/auth/staff/mfa/enrollment/confirm', { enrollment_token, code: '123456' });
    expect(early.status).toBe(409);
    expect((await problemOf(early)).code).toBe('mfa_enrollment_not_started');
  });

  it('refuses an expired enrollment token', async () => {
    const owner = await insertStaffWithPassword('owner');
    const enrollment_token = await enrollmentToken(owner.email);
    await db()
      .update(oneTimeTokens)
      .set({ expiresAt: new Date(Date.now() - 1) })
      .where(and(eq(oneTimeTokens.principalId, owner.id), eq(oneTimeTokens.purpose, 'staff_mfa_enrollment')));
    const res = await post('/v1/auth/staff/mfa/enrollment', { enrollment_token });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe('invalid_mfa_token');
    expect((await staffRow(owner.id))?.mfaSecretEncrypted).toBeNull();
  });
  it('turns MFA on only with its recovery codes and audit entry: a confirm whose write fails leaves it off', async () => {
    const owner = await insertStaffWithPassword('owner');
    const enrollment_token = await enrollmentToken(owner.email);
    const { secret } = (await (await post('/v1/auth/staff/mfa/enrollment', { enrollment_token })).json()) as {
      secret: string;
    };
    // Storing this member's recovery codes fails, as any D1 error in the middle of the write would.
    await env.DB.prepare(
      `CREATE TRIGGER refuse_recovery_codes BEFORE INSERT ON staff_recovery_codes
       WHEN NEW.staff_id = '${owner.id}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
    ).run();
    try {
      const res = await post('/v1/auth/staff/mfa/enrollment/confirm', {
        enrollment_token,
        code: await codeFor(secret),
      });
      expect(res.status).toBe(500);
      expect((await problemOf(res)).code).toBe('internal_error');
    } finally {
      await env.DB.prepare('DROP TRIGGER refuse_recovery_codes').run();
    }
    expect((await staffRow(owner.id))?.mfaEnabledAt).toBeNull();
    expect(
      await db().select().from(staffRecoveryCodes).where(eq(staffRecoveryCodes.staffId, owner.id)).all(),
    ).toStrictEqual([]);
    expect(await db().select().from(auditLog).where(eq(auditLog.targetId, owner.id)).all()).toStrictEqual([]);
    // MFA is off, so the next login asks to enroll again.
    expect(await enrollmentToken(owner.email)).toStrictEqual(expect.any(String));
  });

  it('two confirms of one enrollment at once: one turns MFA on, with its own recovery codes only', async () => {
    const owner = await insertStaffWithPassword('owner');
    const [first, second] = [await enrollmentToken(owner.email), await enrollmentToken(owner.email)];
    const { secret } = (await (
      await post('/v1/auth/staff/mfa/enrollment', { enrollment_token: first })
    ).json()) as { secret: string };
    const code = await codeFor(secret);
    const responses = await Promise.all(
      [first, second].map((enrollment_token) =>
        post('/v1/auth/staff/mfa/enrollment/confirm', { enrollment_token, code }),
      ),
    );
    expect(responses.map((r) => r.status).sort()).toStrictEqual([200, 409]);
    const loser = responses.find((r) => r.status === 409) as Response;
    expect(await problemOf(loser)).toStrictEqual({
      type: 'https://edgecart.dev/problems/mfa_already_enabled',
      title: 'Conflict',
      status: 409,
      detail: 'MFA is already set up for this account.',
      code: 'mfa_already_enabled',
      request_id: loser.headers.get('X-Request-Id'),
    });
    const winner = (await (responses.find((r) => r.status === 200) as Response).json()) as {
      recovery_codes: string[];
    };
    const stored = await db()
      .select({ codeHash: staffRecoveryCodes.codeHash })
      .from(staffRecoveryCodes)
      .where(eq(staffRecoveryCodes.staffId, owner.id))
      .all();
    expect(stored.map((r) => r.codeHash).sort()).toStrictEqual(
      (await Promise.all(winner.recovery_codes.map((c) => sha256Hex(c.replaceAll('-', ''))))).sort(),
    );
    const audit = await db().select().from(auditLog).where(eq(auditLog.targetId, owner.id)).all();
    expect(audit.map((a) => a.action)).toStrictEqual(['staff.mfa_enable']);
  });
});

describe('MFA at login', () => {
  it('accepts a current code once: the same code is refused on the next login (replay)', async () => {
    const { staff, secret } = await insertStaffWithMfa('owner');
    const code = await codeFor(secret);
    const first = await post('/v1/auth/staff/mfa/verify', { mfa_token: await mfaToken(staff.email), code });
    expect(first.status).toBe(200);
    expect(await sessionsOf(staff.id)).toHaveLength(1);

    const replay = await post('/v1/auth/staff/mfa/verify', { mfa_token: await mfaToken(staff.email), code });
    expect(replay.status).toBe(401);
    expect(await problemOf(replay)).toStrictEqual({
      type: 'https://edgecart.dev/problems/invalid_mfa_code',
      title: 'Unauthorized',
      status: 401,
      detail: 'The code is wrong or was already used.',
      code: 'invalid_mfa_code',
      request_id: expect.any(String),
    });
    expect(await sessionsOf(staff.id)).toHaveLength(1);
    // A wrong second factor counts against the account everywhere, not only against its network.
    expect(
      await env.DB.prepare('SELECT failures FROM login_failures WHERE principal_id = ? AND network = ?')
        .bind(staff.id, '*')
        .first(),
    ).toStrictEqual({ failures: 1 });
  });

  it('accepts the previous and next step, but not an older step once a newer one was used', async () => {
    const { staff, secret } = await insertStaffWithMfa('owner');
    const ok = await post('/v1/auth/staff/mfa/verify', {
      mfa_token: await mfaToken(staff.email),
      code: await codeFor(secret, -1),
    });
    expect(ok.status).toBe(200);
    const next = await post('/v1/auth/staff/mfa/verify', {
      mfa_token: await mfaToken(staff.email),
      code: await codeFor(secret, 1),
    });
    expect(next.status).toBe(200);
    const older = await post('/v1/auth/staff/mfa/verify', {
      mfa_token: await mfaToken(staff.email),
      code: await codeFor(secret),
    });
    expect(older.status).toBe(401);
  });

  it('refuses codes two steps away and wrong codes, and the MFA token stays usable for a retry', async () => {
    const { staff, secret } = await insertStaffWithMfa('admin');
    const mfa_token = await mfaToken(staff.email);
    for (const offset of [-2, 2]) {
      const res = await post('/v1/auth/staff/mfa/verify', { mfa_token, code: await codeFor(secret, offset) });
      expect(res.status).toBe(401);
    }
    const res = await post('/v1/auth/staff/mfa/verify', { mfa_token, code: await codeFor(secret) });
    expect(res.status).toBe(200);
    const used = await post('/v1/auth/staff/mfa/verify', { mfa_token, code: await codeFor(secret, 1) });
    expect(used.status).toBe(401);
    expect((await problemOf(used)).code).toBe('invalid_mfa_token');
  });

  it('locks the account everywhere after repeated wrong codes, from whichever networks they came', async () => {
    const { staff, secret } = await insertStaffWithMfa('owner');
    const mfa_token = await mfaToken(staff.email);
    for (let i = 0; i < 5; i++) {
      expect(
        (await post('/v1/auth/staff/mfa/verify', { mfa_token, code: await codeFor(secret, 5) })).status,
      ).toBe(401);
    }
    const res = await post('/v1/auth/staff/mfa/verify', { mfa_token, code: await codeFor(secret) });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe('invalid_mfa_token');
    expect((await login(staff.email)).status).toBe(401);
    expect(await sessionsOf(staff.id)).toHaveLength(0);
  });

  it('refuses an expired MFA token', async () => {
    const { staff, secret } = await insertStaffWithMfa('owner');
    const mfa_token = await mfaToken(staff.email);
    await db()
      .update(oneTimeTokens)
      .set({ expiresAt: new Date(Date.now() - 1) })
      .where(eq(oneTimeTokens.principalId, staff.id));
    const res = await post('/v1/auth/staff/mfa/verify', { mfa_token, code: await codeFor(secret) });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe('invalid_mfa_token');
  });

  it('rejects a body with both or neither of code and recovery_code', async () => {
    for (const body of [
      { mfa_token: 'mfa_x' },
      { mfa_token: 'mfa_x', code: '123456', recovery_code: 'AAAA-AAAA-AAAA-AAAA' },
    ]) {
      expect((await post('/v1/auth/staff/mfa/verify', body)).status).toBe(422);
    }
  });
});

describe('recovery codes', () => {
  it('signs in with a recovery code once; the same code is refused after', async () => {
    const owner = await insertStaffWithPassword('owner');
    const enrollment_token = await enrollmentToken(owner.email);
    const { secret } = (await (await post('/v1/auth/staff/mfa/enrollment', { enrollment_token })).json()) as {
      secret: string;
    };
    const enrolled = (await (
      await post('/v1/auth/staff/mfa/enrollment/confirm', { enrollment_token, code: await codeFor(secret) })
    ).json()) as { recovery_codes: string[] };
    const [code] = enrolled.recovery_codes as [string];

    const res = await post('/v1/auth/staff/mfa/verify', {
      mfa_token: await mfaToken(owner.email),
      recovery_code: code.toLowerCase().replaceAll('-', ' '),
    });
    expect(res.status).toBe(200);
    const used = await db()
      .select()
      .from(staffRecoveryCodes)
      .where(eq(staffRecoveryCodes.staffId, owner.id))
      .all();
    expect(used.filter((r) => r.usedAt !== null)).toHaveLength(1);
    const audit = await db()
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, 'staff.recovery_code_use'))
      .all();
    expect(audit.map((a) => [a.actorId, a.targetId])).toStrictEqual([[owner.id, owner.id]]);

    const again = await post('/v1/auth/staff/mfa/verify', {
      mfa_token: await mfaToken(owner.email),
      recovery_code: code,
    });
    expect(again.status).toBe(401);
    expect((await problemOf(again)).code).toBe('invalid_mfa_code');
  });
});
