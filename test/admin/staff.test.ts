import { env } from 'cloudflare:workers';
import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditLog, sessions } from '../../src/db/schema';
import { createDb } from '../../src/lib/db';
import { expectNoWrites } from '../helpers/admin';
import { bearer, call, expectProblem, jsonInit, problemOf } from '../helpers/http';
import { login, signedInStaff } from '../helpers/staff';
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
