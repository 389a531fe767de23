import { env } from 'cloudflare:workers';
import { and, eq, inArray } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditLog, sessions, staffUsers } from '../../src/db/schema';
import { createDb } from '../../src/lib/db';
import { AppError } from '../../src/lib/errors';
import { PERMISSIONS } from '../../src/lib/permissions';
import { checkStaffUpdate, resetStaffMfa } from '../../src/modules/staff/service';
import { expectNoWrites, insertSecretKey, keyCaller } from '../helpers/admin';
import { bearer, call, expectProblem, jsonInit, problemOf } from '../helpers/http';
import { login, signedInStaff, staffCaller } from '../helpers/staff';
import { unique } from '../helpers/unique';

const db = () => createDb(env.DB);
const patch = (token: string, id: string, body: unknown) =>
  call(`/v1/admin/staff/${id}`, jsonInit('PATCH', body, bearer(token)));
const activeSessions = async (staffId: string) =>
  (await db().select().from(sessions).where(eq(sessions.principalId, staffId)).all()).filter(
    (s) => !s.revokedAt,
  );

describe('GET /v1/admin/staff', () => {
  it('lists staff with their role, status and MFA state, filtered by role', async () => {
    const owner = await signedInStaff('owner');
    const member = await signedInStaff('order_manager');
    const res = await call('/v1/admin/staff?role=order_manager&limit=100', {
      headers: bearer(owner.tokens.access_token),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { id: string }[] };
    expect(body.data.find((s) => s.id === member.staff.id)).toStrictEqual({
      id: member.staff.id,
      email: member.staff.email,
      name: 'Test Staff',
      role: 'order_manager',
      status: 'active',
      mfa_enabled: false,
      created_at: member.staff.createdAt.toISOString(),
      updated_at: member.staff.updatedAt.toISOString(),
    });
    expect(body.data.every((s) => s.id !== owner.staff.id)).toBe(true);

    const one = await call(`/v1/admin/staff/${owner.staff.id}`, {
      headers: bearer(owner.tokens.access_token),
    });
    expect(((await one.json()) as { mfa_enabled: boolean }).mfa_enabled).toBe(true);
    const missing = await call('/v1/admin/staff/stf_nope', { headers: bearer(owner.tokens.access_token) });
    expect(missing.status).toBe(404);
  });
});

describe('PATCH /v1/admin/staff/{id}', () => {
  it('changes a role: audited with before/after, and the member is signed out everywhere', async () => {
    const admin = await signedInStaff('admin');
    const member = await signedInStaff('support');
    expect(await activeSessions(member.staff.id)).toHaveLength(1);

    const res = await patch(admin.tokens.access_token, member.staff.id, { role: 'order_manager' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { role: string }).role).toBe('order_manager');
    expect(await activeSessions(member.staff.id)).toHaveLength(0);
    const audit = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.targetId, member.staff.id), eq(auditLog.action, 'staff.update')))
      .all();
    expect(audit.map((a) => [a.actorType, a.actorId, a.changes])).toStrictEqual([
      ['staff', admin.staff.id, { role: { from: 'support', to: 'order_manager' } }],
    ]);
  });

  it('disables a member: their token stops working at once and they cannot log in', async () => {
    const admin = await signedInStaff('admin');
    const other = await signedInStaff('admin');
    const res = await patch(admin.tokens.access_token, other.staff.id, { status: 'disabled' });
    expect(res.status).toBe(200);
    const refused = await call('/v1/admin/audit-log', { headers: bearer(other.tokens.access_token) });
    expect(refused.status).toBe(401);
    expect((await login(other.staff.email)).status).toBe(401);
  });

  it('lets only an owner change an owner or grant the owner role', async () => {
    const admin = await signedInStaff('admin');
    const owner = await signedInStaff('owner');
    const member = await signedInStaff('support');
    for (const [target, body] of [
      [owner.staff.id, { name: 'Renamed' }],
      [owner.staff.id, { status: 'disabled' }],
      [member.staff.id, { role: 'owner' }],
    ] as const) {
      const res = await expectNoWrites(() => patch(admin.tokens.access_token, target, body));
      expect(res.status, JSON.stringify(body)).toBe(403);
      expect((await problemOf(res)).code).toBe('owner_only');
    }
    const promoted = await patch(owner.tokens.access_token, member.staff.id, { role: 'owner' });
    expect(promoted.status).toBe(200);
  });

  it('refuses to let anyone change their own role or status, but allows their own name', async () => {
    const owner = await signedInStaff('owner');
    for (const body of [{ role: 'admin' }, { status: 'disabled' }]) {
      const res = await expectNoWrites(() => patch(owner.tokens.access_token, owner.staff.id, body));
      expect(res.status).toBe(403);
      expect(await problemOf(res)).toStrictEqual({
        type: 'https://edgecart.dev/problems/cannot_change_self',
        title: 'Forbidden',
        status: 403,
        detail: 'You cannot change your own role, status or MFA.',
        code: 'cannot_change_self',
        request_id: expect.any(String),
      });
    }
    const renamed = await patch(owner.tokens.access_token, owner.staff.id, { name: 'Ana Lima' });
    expect(renamed.status).toBe(200);
  });

  it('rejects fields that may not be set (mass assignment) and an empty change with 422 at the field', async () => {
    const owner = await signedInStaff('owner');
    const member = await signedInStaff('support');
    for (const [body, pointer, message] of [
      [{ email: 'new@example.com' }, '/body/email', 'Unknown field'],
      [{ name: 'Ana', mfa_enabled: false }, '/body/mfa_enabled', 'Unknown field'],
      [{}, '/body', 'Send at least one field to change.'],
      [{ role: 'root' }, '/body/role', expect.any(String)],
    ] as const) {
      const res = await expectNoWrites(() => patch(owner.tokens.access_token, member.staff.id, body));
      await expectProblem(res, 422, 'validation_failed', [{ pointer, message }]);
    }
  });
});

describe('owner invitations need an owner', () => {
  it('refuses an admin inviting an owner or revoking an owner invite; an owner can do both', async () => {
    const admin = await signedInStaff('admin');
    const owner = await signedInStaff('owner');
    const body = { email: `${unique('new-owner')}@example.com`, role: 'owner' };
    const refused = await expectNoWrites(() =>
      call('/v1/admin/staff/invites', jsonInit('POST', body, bearer(admin.tokens.access_token))),
    );
    expect(refused.status).toBe(403);
    expect((await problemOf(refused)).code).toBe('owner_only');

    const created = await call(
      '/v1/admin/staff/invites',
      jsonInit('POST', body, bearer(owner.tokens.access_token)),
    );
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const revokeAsAdmin = await expectNoWrites(() =>
      call(`/v1/admin/staff/invites/${id}/revoke`, {
        method: 'POST',
        headers: bearer(admin.tokens.access_token),
      }),
    );
    expect(revokeAsAdmin.status).toBe(403);
    const revokeAsOwner = await call(`/v1/admin/staff/invites/${id}/revoke`, {
      method: 'POST',
      headers: bearer(owner.tokens.access_token),
    });
    expect(revokeAsOwner.status).toBe(200);
  });
});

describe('API keys created by staff', () => {
  it('lets a staff member create keys only within their role’s permissions', async () => {
    const owner = await signedInStaff('owner');
    const res = await call(
      '/v1/admin/api-keys',
      jsonInit(
        'POST',
        { kind: 'secret', name: 'ERP', permissions: ['catalog:read', 'orders:read'] },
        bearer(owner.tokens.access_token),
      ),
    );
    expect(res.status).toBe(201);
    expect(((await res.json()) as { created_by: string }).created_by).toBe(owner.staff.id);
  });
});

describe('changes racing the checks they passed', () => {
  /** The problem a refused write answers with, as the error handler would render it. */
  const refusalOf = async (write: Promise<unknown>) => {
    const error = await write.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppError);
    const { status, code, message } = error as AppError;
    return { status, code, detail: message };
  };
  const staffRows = async (ids: string[]) =>
    Object.fromEntries(
      (await db().select().from(staffUsers).where(inArray(staffUsers.id, ids)).all()).map((s) => [
        s.id,
        [s.role, s.status],
      ]),
    );
  const updatesOf = async (ids: string[]) =>
    (
      await db()
        .select()
        .from(auditLog)
        .where(and(inArray(auditLog.targetId, ids), eq(auditLog.action, 'staff.update')))
        .all()
    ).map((a) => [a.actorId, a.targetId, a.changes]);

  it('two owners taking each other’s ownership at once: one wins, one active owner remains', async () => {
    // The file's earlier owners step aside, so these two are the store's only active owners.
    await env.DB.prepare("UPDATE staff_users SET status = 'disabled' WHERE role = 'owner'").run();
    const [a, b] = [await signedInStaff('owner'), await signedInStaff('owner')];
    // Both requests pass their checks before either writes.
    const aDisablesB = await checkStaffUpdate(env, staffCaller(a), b.staff.id, { status: 'disabled' });
    const bDemotesA = await checkStaffUpdate(env, staffCaller(b), a.staff.id, { role: 'admin' });

    expect((await aDisablesB()).status).toBe('disabled');
    expect(await refusalOf(bDemotesA())).toStrictEqual({
      status: 409,
      code: 'last_owner',
      detail: 'This change would leave the store without an active owner.',
    });
    expect(await staffRows([a.staff.id, b.staff.id])).toStrictEqual({
      [a.staff.id]: ['owner', 'active'],
      [b.staff.id]: ['owner', 'disabled'],
    });
    expect(await updatesOf([a.staff.id, b.staff.id])).toStrictEqual([
      [a.staff.id, b.staff.id, { status: { from: 'active', to: 'disabled' } }],
    ]);
    // The refused change signed nobody out: its whole batch rolled back.
    expect(await activeSessions(a.staff.id)).toHaveLength(1);
  });

  it('an owner disabled after their checks changes nobody: 401, as their next request would get', async () => {
    const [owner, other, member] = [
      await signedInStaff('owner'),
      await signedInStaff('owner'),
      await signedInStaff('support'),
    ];
    const disableMember = await checkStaffUpdate(env, staffCaller(owner), member.staff.id, {
      status: 'disabled',
    });
    expect((await patch(other.tokens.access_token, owner.staff.id, { status: 'disabled' })).status).toBe(200);

    expect(await refusalOf(disableMember())).toStrictEqual({
      status: 401,
      code: 'invalid_token',
      detail: 'The access token is not valid: session ended.',
    });
    expect(await staffRows([member.staff.id])).toStrictEqual({ [member.staff.id]: ['support', 'active'] });
    expect(await updatesOf([member.staff.id])).toStrictEqual([]);
    expect(await activeSessions(member.staff.id)).toHaveLength(1);
  });

  it('a key revoked after its checks changes nobody’s role: 401, as its next request would get', async () => {
    const [admin, key, member] = [
      await insertSecretKey(),
      await insertSecretKey(),
      await signedInStaff('support'),
    ];
    const promote = await checkStaffUpdate(env, keyCaller(key.id, PERMISSIONS), member.staff.id, {
      role: 'admin',
    });
    const revoked = await call(
      `/v1/admin/api-keys/${key.id}/revoke`,
      jsonInit('POST', {}, bearer(admin.key)),
    );
    expect(revoked.status).toBe(200);

    expect(await refusalOf(promote())).toStrictEqual({
      status: 401,
      code: 'invalid_credentials',
      detail: 'The API key is not valid.',
    });
    expect(await staffRows([member.staff.id])).toStrictEqual({ [member.staff.id]: ['support', 'active'] });
    expect(await updatesOf([member.staff.id])).toStrictEqual([]);
    expect(await activeSessions(member.staff.id)).toHaveLength(1);
  });

  it('an admin’s change to a member promoted to owner after its checks is refused with 409', async () => {
    const [owner, admin, member] = [
      await signedInStaff('owner'),
      await signedInStaff('admin'),
      await signedInStaff('support'),
    ];
    const disableMember = await checkStaffUpdate(env, staffCaller(admin), member.staff.id, {
      status: 'disabled',
    });
    expect((await patch(owner.tokens.access_token, member.staff.id, { role: 'owner' })).status).toBe(200);

    expect(await refusalOf(disableMember())).toStrictEqual({
      status: 409,
      code: 'staff_changed',
      detail: 'The staff member changed while this request ran; read it again and retry.',
    });
    expect(await staffRows([member.staff.id])).toStrictEqual({ [member.staff.id]: ['owner', 'active'] });
    expect(await updatesOf([member.staff.id])).toStrictEqual([
      [owner.staff.id, member.staff.id, { role: { from: 'support', to: 'owner' } }],
    ]);
  });

  it('an owner disabled after authenticating resets nobody’s MFA: 401, and the MFA stays', async () => {
    const [owner, other, target] = [
      await signedInStaff('owner'),
      await signedInStaff('owner'),
      await signedInStaff('owner'),
    ];
    // The owner's request was authenticated before the other owner disabled them.
    const caller = staffCaller(owner);
    expect((await patch(other.tokens.access_token, owner.staff.id, { status: 'disabled' })).status).toBe(200);

    expect(await refusalOf(resetStaffMfa(env, caller, target.staff.id))).toStrictEqual({
      status: 401,
      code: 'invalid_token',
      detail: 'The access token is not valid: session ended.',
    });
    const row = await db().select().from(staffUsers).where(eq(staffUsers.id, target.staff.id)).get();
    expect(row?.mfaEnabledAt).toStrictEqual(target.staff.mfaEnabledAt);
    expect(await activeSessions(target.staff.id)).toHaveLength(1);
    expect(
      await db()
        .select()
        .from(auditLog)
        .where(and(eq(auditLog.targetId, target.staff.id), eq(auditLog.action, 'staff.mfa_reset')))
        .all(),
    ).toStrictEqual([]);
  });
});
