/**
 * A role grants ROLE_PERMISSIONS[role], and granting one follows the rule of API keys: nobody hands out (or
 * switches off) a permission they do not hold. Through the Worker, with a secret key and with a staff member
 * each holding only staff:manage.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { staffUsers } from '../../src/db/schema';
import { createDb } from '../../src/lib/db';
import { signAccessToken } from '../../src/lib/jwt';
import { PERMISSIONS, type Permission, ROLE_PERMISSIONS } from '../../src/lib/permissions';
import { expectNoWrites, insertSecretKey } from '../helpers/admin';
import { bearer, call, jsonInit, problemOf } from '../helpers/http';
import { insertPendingInvite, signedInStaff } from '../helpers/staff';
import { unique } from '../helpers/unique';

const db = () => createDb(env.DB);

/** An admin's real, MFA-verified session, with an access token narrowed to `perms`. */
async function staffHolding(perms: Permission[]) {
  const { staff } = await signedInStaff('admin');
  const session = await db().query.sessions.findFirst({
    where: (row, { eq }) => eq(row.principalId, staff.id),
  });
  if (!session) throw new Error('the admin has no session');
  const claims = { sub: staff.id, typ: 'staff' as const, sid: session.id, role: 'admin' as const, perms };
  return (await signAccessToken(env, claims, 'edgecart:admin')).token;
}

const escalation = (refusal: string, missing: readonly Permission[]) => ({
  type: 'https://edgecart.dev/problems/permission_escalation',
  title: 'Forbidden',
  status: 403,
  detail: `${refusal}: ${missing.join(', ')}.`,
  code: 'permission_escalation',
  request_id: expect.any(String),
});

/** What `role` holds beyond staff:manage, in PERMISSIONS order. */
const beyondStaffManage = (role: keyof typeof ROLE_PERMISSIONS) =>
  PERMISSIONS.filter((p) => p !== 'staff:manage' && ROLE_PERMISSIONS[role].includes(p));

const invite = (token: string, role: string) =>
  call(
    '/v1/admin/staff/invites',
    jsonInit('POST', { email: `${unique('invitee')}@example.com`, role }, bearer(token)),
  );

describe('granting a role needs every permission of the role', () => {
  it('refuses a key holding only staff:manage an invitation to admin or support, writing nothing', async () => {
    const key = await insertSecretKey(['staff:manage']);
    for (const role of ['admin', 'support'] as const) {
      const res = await expectNoWrites(() => invite(key.key, role));
      expect(res.status, role).toBe(403);
      expect(await problemOf(res), role).toStrictEqual(
        escalation(
          `You cannot grant the ${role} role, which holds permissions you do not hold`,
          beyondStaffManage(role),
        ),
      );
    }
  });

  it('refuses a staff member holding only staff:manage an invitation to admin, writing nothing', async () => {
    const token = await staffHolding(['staff:manage']);
    const res = await expectNoWrites(() => invite(token, 'admin'));
    expect(await problemOf(res)).toStrictEqual(
      escalation(
        'You cannot grant the admin role, which holds permissions you do not hold',
        beyondStaffManage('admin'),
      ),
    );
  });

  it('lets a key invite a role whose permissions it holds', async () => {
    const key = await insertSecretKey(['staff:manage', ...ROLE_PERMISSIONS.catalog_manager]);
    const res = await invite(key.key, 'catalog_manager');
    expect(res.status).toBe(201);
  });

  it('refuses a staff member holding only staff:manage promoting a member to admin, writing nothing', async () => {
    const token = await staffHolding(['staff:manage']);
    const { staff: member } = await signedInStaff('read_only');
    const res = await expectNoWrites(() =>
      call(`/v1/admin/staff/${member.id}`, jsonInit('PATCH', { role: 'admin' }, bearer(token))),
    );
    expect(await problemOf(res)).toStrictEqual(
      escalation(
        'You cannot change a member whose read_only role holds permissions you do not hold',
        ROLE_PERMISSIONS.read_only,
      ),
    );
    // Holding what the member's role holds is not enough: the new role is a grant of its own.
    const reader = await staffHolding(['staff:manage', ...ROLE_PERMISSIONS.read_only]);
    const promote = await expectNoWrites(() =>
      call(`/v1/admin/staff/${member.id}`, jsonInit('PATCH', { role: 'admin' }, bearer(reader))),
    );
    expect(await problemOf(promote)).toStrictEqual(
      escalation(
        'You cannot grant the admin role, which holds permissions you do not hold',
        PERMISSIONS.filter((p) => p !== 'staff:manage' && !ROLE_PERMISSIONS.read_only.includes(p)),
      ),
    );
    const row = await db().select().from(staffUsers).where(eq(staffUsers.id, member.id)).get();
    expect(row?.role).toBe('read_only');
  });

  it('refuses a key holding only staff:manage disabling an admin or revoking an invitation to admin', async () => {
    const key = await insertSecretKey(['staff:manage']);
    const { staff: admin } = await signedInStaff('admin');
    const disable = await expectNoWrites(() =>
      call(`/v1/admin/staff/${admin.id}`, jsonInit('PATCH', { status: 'disabled' }, bearer(key.key))),
    );
    expect(await problemOf(disable)).toStrictEqual(
      escalation(
        'You cannot change a member whose admin role holds permissions you do not hold',
        beyondStaffManage('admin'),
      ),
    );
    const { invite: pending } = await insertPendingInvite('admin');
    const revoke = await expectNoWrites(() =>
      call(`/v1/admin/staff/invites/${pending.id}/revoke`, { method: 'POST', headers: bearer(key.key) }),
    );
    expect(await problemOf(revoke)).toStrictEqual(
      escalation(
        'You cannot revoke an invitation to the admin role, which holds permissions you do not hold',
        beyondStaffManage('admin'),
      ),
    );
  });
});

describe('re-inviting an address revokes its pending invitation, so it needs what revoking it needs', () => {
  const reinvite = (token: string, email: string, role: string) =>
    call('/v1/admin/staff/invites', jsonInit('POST', { email, role }, bearer(token)));

  it('refuses a key that may invite to support but not revoke an invitation to admin, writing nothing', async () => {
    const key = await insertSecretKey(['staff:manage', ...ROLE_PERMISSIONS.support]);
    const { invite: pending } = await insertPendingInvite('admin');
    const res = await expectNoWrites(() => reinvite(key.key, pending.email, 'support'));
    expect(res.status).toBe(403);
    expect(await problemOf(res)).toStrictEqual(
      escalation(
        'You cannot revoke an invitation to the admin role, which holds permissions you do not hold',
        beyondStaffManage('admin').filter((p) => !ROLE_PERMISSIONS.support.includes(p)),
      ),
    );
  });

  it('refuses an admin re-inviting the address of a pending owner invitation, writing nothing', async () => {
    const { tokens } = await signedInStaff('admin');
    const { invite: pending } = await insertPendingInvite('owner');
    const res = await expectNoWrites(() => reinvite(tokens.access_token, pending.email, 'support'));
    expect(res.status).toBe(403);
    expect(await problemOf(res)).toStrictEqual({
      type: 'https://edgecart.dev/problems/owner_only',
      title: 'Forbidden',
      status: 403,
      detail: 'Only an owner can revoke an invitation to the owner role.',
      code: 'owner_only',
      request_id: expect.any(String),
    });
  });
});
