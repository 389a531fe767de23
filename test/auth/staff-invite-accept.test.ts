import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { ownerInvite } from '../../scripts/lib/owner-invite.mjs';
import { auditLog, staffInvites, staffUsers } from '../../src/db/schema';
import { systemCaller } from '../../src/lib/caller';
import { createDb } from '../../src/lib/db';
import { acceptInvite } from '../../src/modules/staff/accept-invite';
import { expectNoWrites, insertSecretKey } from '../helpers/admin';
import { writeLandsBeforeBatch } from '../helpers/concurrent-write';
import { bearer, call, jsonInit, post, problemOf } from '../helpers/http';
import { insertPendingInvite, invalidInvite, login, PASSWORD, signedInStaff } from '../helpers/staff';
import { unique } from '../helpers/unique';

const db = () => createDb(env.DB);
const accept = (token: string, password = PASSWORD) =>
  post('/v1/auth/staff/invites/accept', { token, name: 'Ana Lima', password });

describe('POST /v1/auth/staff/invites/accept', () => {
  it('creates the account with the invited email and role, uses the invite up, audits it', async () => {
    const { invite, token } = await insertPendingInvite('catalog_manager');
    const res = await accept(token);
    expect(res.status).toBe(201);
    const body = (await res.json()) as { id: string };
    expect(body).toStrictEqual({
      id: expect.stringMatching(/^stf_/),
      email: invite.email,
      name: 'Ana Lima',
      role: 'catalog_manager',
      status: 'active',
      mfa_enabled: false,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const staff = await db().select().from(staffUsers).where(eq(staffUsers.id, body.id)).get();
    expect(staff?.passwordHash).toMatch(/^pbkdf2-sha256\$v1\$/);
    expect(staff?.passwordHash).not.toContain(PASSWORD);
    const used = await db().select().from(staffInvites).where(eq(staffInvites.id, invite.id)).get();
    expect(used?.acceptedAt).toBeInstanceOf(Date);
    const audit = await db().select().from(auditLog).where(eq(auditLog.targetId, body.id)).all();
    expect(audit.map((a) => [a.actorType, a.actorId, a.action, a.changes])).toStrictEqual([
      [
        'staff',
        body.id,
        'staff.create',
        { email: invite.email, role: 'catalog_manager', name: 'Ana Lima', invite_id: invite.id },
      ],
    ]);

    const signedIn = await login(invite.email);
    expect(signedIn.status).toBe(200);
  });

  it('refuses a replayed invite token, changing nothing', async () => {
    const { token } = await insertPendingInvite('support');
    expect((await accept(token)).status).toBe(201);
    const replay = await expectNoWrites(() => accept(token, 'another long password'));
    expect(replay.status).toBe(400);
    expect(await problemOf(replay)).toStrictEqual(invalidInvite);
  });

  it('refuses an expired, a revoked and an unknown token alike, changing nothing', async () => {
    const expired = await insertPendingInvite('support', { expiresAt: new Date(Date.now() - 1) });
    const revoked = await insertPendingInvite('support');
    await db()
      .update(staffInvites)
      .set({ revokedAt: new Date() })
      .where(eq(staffInvites.id, revoked.invite.id));
    for (const token of [expired.token, revoked.token, 'not-a-token']) {
      const res = await expectNoWrites(() => accept(token));
      expect(res.status).toBe(400);
      expect(await problemOf(res)).toStrictEqual(invalidInvite);
    }
  });

  it('accepts only one of two concurrent acceptances', async () => {
    const { invite, token } = await insertPendingInvite('support');
    const results = await Promise.all([accept(token), accept(token, 'a different long password')]);
    expect(results.map((r) => r.status).sort()).toStrictEqual([201, 400]);
    const rows = await db().select().from(staffUsers).where(eq(staffUsers.email, invite.email)).all();
    expect(rows).toHaveLength(1);
  });

  it('rejects a short password and extra fields with 422, changing nothing', async () => {
    const { token } = await insertPendingInvite('support');
    for (const body of [
      { token, name: 'Ana', password: 'short' },
      { token, name: 'Ana', password: PASSWORD, role: 'owner' },
    ]) {
      const res = await expectNoWrites(() => post('/v1/auth/staff/invites/accept', body));
      expect(res.status).toBe(422);
    }
  });
});

describe('creating the first owner (scripts/create-owner.mjs)', () => {
  it('writes an owner invite whose token is accepted; the owner must enroll MFA before any admin token', async () => {
    const invite = await ownerInvite('First.Owner@Example.com');
    await env.DB.exec(invite.sql);
    const row = await db().select().from(staffInvites).where(eq(staffInvites.id, invite.id)).get();
    expect(row).toStrictEqual({
      id: invite.id,
      email: 'first.owner@example.com',
      role: 'owner',
      tokenHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      invitedBy: 'system',
      expiresAt: new Date(invite.expiresAt),
      acceptedAt: null,
      revokedAt: null,
      createdAt: expect.any(Date),
    });
    expect(row?.tokenHash).not.toBe(invite.token);
    const audit = await db().select().from(auditLog).where(eq(auditLog.targetId, invite.id)).all();
    expect(audit.map((a) => [a.actorType, a.actorId, a.action, a.changes])).toStrictEqual([
      ['system', 'create-owner', 'staff_invite.create', { email: 'first.owner@example.com', role: 'owner' }],
    ]);

    const accepted = await accept(invite.token);
    expect(accepted.status).toBe(201);
    expect(((await accepted.json()) as { role: string }).role).toBe('owner');

    const first = await login('first.owner@example.com');
    const body = (await first.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toStrictEqual([
      'enrollment_token',
      'expires_in',
      'mfa_enrollment_required',
    ]);
    const enrollmentToken = String(body.enrollment_token);
    expect((await call('/v1/admin/staff', { headers: bearer(enrollmentToken) })).status).toBe(401);
  });

  it('refuses an address that is not an email before building any SQL', async () => {
    await expect(ownerInvite("x'); DROP TABLE staff_users; --@example.com")).rejects.toThrow(/not an email/);
  });
});

describe('acceptance racing the end of its invitation', () => {
  /**
   * Accepts `token` while `ending` (another request) ends its invitation after acceptance read it as pending (and
   * spent ~100k PBKDF2 rounds on the password), before its batch.
   */
  const acceptWhile = (token: string, ending: () => Promise<unknown>) =>
    acceptInvite(
      writeLandsBeforeBatch('staff_users', ending, 'insert into'),
      systemCaller('test', unique('run')),
      {
        token,
        name: 'Mallory',
        password: PASSWORD,
      },
    );
  /** Nothing of the acceptance was written: no account, the invite unused, no `staff.create` entry. */
  const expectNothingAccepted = async (invite: { id: string; email: string }) => {
    expect(
      await db().select().from(staffUsers).where(eq(staffUsers.email, invite.email)).all(),
    ).toStrictEqual([]);
    const row = await db().select().from(staffInvites).where(eq(staffInvites.id, invite.id)).get();
    expect(row?.acceptedAt).toBeNull();
    const created = await db().select().from(auditLog).where(eq(auditLog.action, 'staff.create')).all();
    expect(created.filter((a) => a.changes?.invite_id === invite.id)).toStrictEqual([]);
    return row;
  };
  const refused = { status: 400, code: 'invalid_invite', message: invalidInvite.detail };

  it('an invitation revoked while its acceptance hashes the password creates no account', async () => {
    const admin = await insertSecretKey();
    const { invite, token } = await insertPendingInvite('support');
    const revoke = () =>
      call(`/v1/admin/staff/invites/${invite.id}/revoke`, jsonInit('POST', {}, bearer(admin.key))).then(
        (res) => expect(res.status).toBe(200),
      );
    // Revoked means "400 invalid_invite from the moment the change commits" (docs/AUTH.md).
    await expect(acceptWhile(token, revoke)).rejects.toMatchObject(refused);
    expect((await expectNothingAccepted(invite))?.revokedAt).toBeInstanceOf(Date);
  });

  it('an invitation whose inviter is disabled meanwhile creates no account', async () => {
    const owner = await signedInStaff('owner');
    const inviter = await signedInStaff('admin');
    const { invite, token } = await insertPendingInvite('support', { invitedBy: inviter.staff.id });
    const disable = () =>
      call(
        `/v1/admin/staff/${inviter.staff.id}`,
        jsonInit('PATCH', { status: 'disabled' }, bearer(owner.tokens.access_token)),
      ).then((res) => expect(res.status).toBe(200));
    await expect(acceptWhile(token, disable)).rejects.toMatchObject(refused);
    expect((await expectNothingAccepted(invite))?.revokedAt).toBeInstanceOf(Date);
  });

  it('an invitation that expires meanwhile creates no account', async () => {
    const { invite, token } = await insertPendingInvite('support');
    // Its 72 hours run out while the password is hashed.
    const expire = () =>
      db()
        .update(staffInvites)
        .set({ expiresAt: new Date(Date.now() - 1000) })
        .where(eq(staffInvites.id, invite.id));
    await expect(acceptWhile(token, expire)).rejects.toMatchObject(refused);
    expect((await expectNothingAccepted(invite))?.revokedAt).toBeNull();
  });
});
