/**
 * rv-access: who can read or change what. Each test shows an access that should be refused and is not.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { apiKeys, staffInvites, staffUsers } from '../../src/db/schema';
import type { AdminCaller } from '../../src/lib/caller';
import { systemCaller } from '../../src/lib/caller';
import { createDb } from '../../src/lib/db';
import { ROLE_PERMISSIONS } from '../../src/lib/permissions';
import { createSecretKey } from '../../src/modules/api-keys/service';
import { acceptInvite } from '../../src/modules/staff/accept-invite';
import { createInvite } from '../../src/modules/staff/invite-service';
import { insertSecretKey } from '../helpers/admin';
import { writeLandsBeforeBatch } from '../helpers/concurrent-write';
import { PASSWORD as CUSTOMER_PASSWORD, registerCustomer, tokenMailed } from '../helpers/customers';
import { mailSentAfter } from '../helpers/events';
import { bearer, call, jsonInit, post, randomIp } from '../helpers/http';
import { insertPendingInvite, PASSWORD, signedInStaff } from '../helpers/staff';
import { unique } from '../helpers/unique';

const db = () => createDb(env.DB);

type Member = Awaited<ReturnType<typeof signedInStaff>>;
const callerFor = ({ staff }: Member): AdminCaller => ({
  actor: { type: 'staff', id: staff.id },
  meta: { requestId: unique('req'), ip: null, userAgent: null, traceparent: null },
  principal: {
    type: 'staff',
    id: staff.id,
    role: staff.role,
    sessionId: unique('ses'),
    permissions: new Set(ROLE_PERMISSIONS[staff.role]),
  },
});

describe('grants racing the change that ends their authority', () => {
  it('an invitation revoked while its acceptance hashes the password creates no account', async () => {
    const admin = await insertSecretKey();
    const { invite, token } = await insertPendingInvite('support');
    // The revoke lands after acceptance read the invite as pending (and spent ~100k PBKDF2 rounds), before its batch.
    const revoke = () =>
      call(`/v1/admin/staff/invites/${invite.id}/revoke`, jsonInit('POST', {}, bearer(admin.key))).then(
        (res) => expect(res.status).toBe(200),
      );
    const acceptance = acceptInvite(
      writeLandsBeforeBatch('staff_users', revoke, 'insert into'),
      systemCaller('test', unique('run')),
      { token, name: 'Mallory', password: PASSWORD },
    );
    // Revoked means "400 invalid_invite from the moment the change commits" (docs/AUTH.md).
    await expect(acceptance).rejects.toMatchObject({ status: 400, code: 'invalid_invite' });
    const row = await db().select().from(staffInvites).where(eq(staffInvites.id, invite.id)).get();
    expect(row?.revokedAt).toBeInstanceOf(Date);
    expect(
      await db().select().from(staffUsers).where(eq(staffUsers.email, invite.email)).all(),
    ).toStrictEqual([]);
  });

  it('a key created while its creator is being disabled does not outlive the disable', async () => {
    const owner = await signedInStaff('owner');
    const member = await signedInStaff('admin');
    // The member's request passed its checks; the owner's disable commits before the key's insert.
    const disable = () =>
      call(
        `/v1/admin/staff/${member.staff.id}`,
        jsonInit('PATCH', { status: 'disabled' }, bearer(owner.tokens.access_token)),
      ).then((res) => expect(res.status).toBe(200));
    const created = await createSecretKey(
      writeLandsBeforeBatch('api_keys', disable, 'insert into'),
      callerFor(member),
      { name: unique('exfil'), permissions: ['orders:read', 'api_keys:manage'] },
    ).catch(() => null);
    const member_ = await db().select().from(staffUsers).where(eq(staffUsers.id, member.staff.id)).get();
    expect(member_?.status).toBe('disabled');
    if (created === null) return; // refused: what should happen
    // "Disabling a staff member revokes every active secret key their authority made" (docs/AUTH.md).
    const key = await db().select().from(apiKeys).where(eq(apiKeys.id, created.row.id)).get();
    expect(key?.revokedAt ?? null).not.toBeNull();
    const res = await call('/v1/admin/orders?limit=1', { headers: bearer(created.secretKey) });
    expect(res.status).toBe(401);
  });

  it('an invitation made while its inviter is being disabled does not outlive the disable', async () => {
    const owner = await signedInStaff('owner');
    const member = await signedInStaff('admin');
    const disable = () =>
      call(
        `/v1/admin/staff/${member.staff.id}`,
        jsonInit('PATCH', { status: 'disabled' }, bearer(owner.tokens.access_token)),
      ).then((res) => expect(res.status).toBe(200));
    const invite = await createInvite(
      writeLandsBeforeBatch('staff_invites', disable, 'insert into'),
      callerFor(member),
      { email: `${unique('accomplice')}@example.com`, role: 'admin' },
    ).catch(() => null);
    if (invite === null) return; // refused: what should happen
    // "those made by the member ... are revoked when disabled" (docs/AUTH.md): it must not be acceptable.
    const row = await db().select().from(staffInvites).where(eq(staffInvites.id, invite.id)).get();
    expect(row?.revokedAt ?? null).not.toBeNull();
  });

  it('a key created by a leaked key while it is being revoked dies with it', async () => {
    const admin = await insertSecretKey();
    const leaked = await insertSecretKey(['orders:read', 'api_keys:manage']);
    const revoke = () =>
      call(`/v1/admin/api-keys/${leaked.id}/revoke`, jsonInit('POST', {}, bearer(admin.key))).then((res) =>
        expect(res.status).toBe(200),
      );
    const caller: AdminCaller = {
      actor: { type: 'secret_key', id: leaked.id },
      meta: { requestId: unique('req'), ip: null, userAgent: null, traceparent: null },
      principal: {
        type: 'secret_key',
        id: leaked.id,
        permissions: new Set(['orders:read', 'api_keys:manage']),
      },
    };
    const created = await createSecretKey(writeLandsBeforeBatch('api_keys', revoke, 'insert into'), caller, {
      name: unique('child'),
      permissions: ['orders:read'],
    }).catch(() => null);
    expect((await call('/v1/admin/orders?limit=1', { headers: bearer(leaked.key) })).status).toBe(401);
    if (created === null) return; // refused: what should happen
    // "Revoking a key likewise revokes every active secret key down its created_by chain" (docs/AUTH.md).
    expect((await call('/v1/admin/orders?limit=1', { headers: bearer(created.secretKey) })).status).toBe(401);
  });

  it('a sign-in with the old password that straddles a password reset keeps no session', async () => {
    const who = await registerCustomer();
    const requested = await post('/v1/auth/customers/password-reset/request', { email: who.email });
    expect(requested.status).toBe(202);
    await mailSentAfter(requested);
    const token = await tokenMailed(who.email, 'reset');
    // The owner resets the password ("signs out every session", docs/AUTH.md) after the sign-in checked the old
    // one, before the sign-in's own write.
    const reset = () =>
      post('/v1/auth/customers/password-reset/confirm', {
        token,
        password: 'the owner’s new passphrase',
      }).then((res) => expect(res.status).toBe(204));
    const ctx = createExecutionContext();
    const login = await createApp().request(
      '/v1/auth/customers/login',
      jsonInit('POST', { email: who.email, password: CUSTOMER_PASSWORD }, { 'CF-Connecting-IP': randomIp() }),
      writeLandsBeforeBatch('login_failures', reset),
      ctx,
    );
    await waitOnExecutionContext(ctx);
    const active = await env.DB.prepare(
      "SELECT count(*) AS n FROM sessions WHERE principal_type = 'customer' AND principal_id = ? AND revoked_at IS NULL",
    )
      .bind(who.id)
      .first<{ n: number }>();
    expect(active?.n).toBe(0);
    if (login.status !== 200) return;
    const { tokens } = (await login.json()) as { tokens: { access_token: string } };
    expect((await call('/v1/store/customers/me', { headers: bearer(tokens.access_token) })).status).toBe(401);
  });
});
