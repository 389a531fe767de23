import { env } from 'cloudflare:workers';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditLog, staffInvites } from '../../src/db/schema';
import { sha256Hex } from '../../src/lib/crypto';
import { createDb } from '../../src/lib/db';
import { keyIdsDescendedFrom } from '../../src/modules/grants/read';
import { invitesOutliving } from '../../src/modules/grants/service';
import { createInvite } from '../../src/modules/staff/invite-service';
import { updateStaff } from '../../src/modules/staff/service';
import { expectNoWrites, insertSecretKey, insertStaff } from '../helpers/admin';
import { writeLandsBeforeBatch } from '../helpers/concurrent-write';
import { mailSentAfter } from '../helpers/events';
import { bearer, call, expectProblem, jsonInit, problemOf } from '../helpers/http';
import { invalidInvite, signedInStaff, staffCaller } from '../helpers/staff';
import { unique } from '../helpers/unique';

const db = () => createDb(env.DB);
const email = () => `${unique('invitee')}@example.com`;

/** The token the invitation mail carried, once the email consumer has sent it for `res`'s invitation. */
async function mailedToken(res: Response, address: string): Promise<string> {
  await mailSentAfter(res);
  const mail = (await (await call(`/v1/dev/mailbox?to=${address}`)).json()) as { data: { text: string }[] };
  return /Token: ([A-Za-z0-9_-]{43})$/.exec(mail.data[0]?.text ?? '')?.[1] as string;
}

async function invite(key: string, body: { email: string; role: string }) {
  return call('/v1/admin/staff/invites', jsonInit('POST', body, bearer(key)));
}

describe('POST /v1/admin/staff/invites', () => {
  it('creates a pending invite for 72 hours, shows its token once, stores only the hash, audits it', async () => {
    const key = await insertSecretKey();
    const address = email();
    const res = await invite(key.key, { email: address.toUpperCase(), role: 'catalog_manager' });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { id: string; expires_at: string; created_at: string };
    expect(body).toStrictEqual({
      id: expect.stringMatching(/^inv_/),
      email: address,
      role: 'catalog_manager',
      status: 'pending',
      invited_by: key.id,
      expires_at: expect.any(String),
      created_at: expect.any(String),
    });
    // The token reaches only the invitee's mailbox, from the invitation's event.
    await mailSentAfter(res);
    const mail = (await (await call(`/v1/dev/mailbox?to=${address}`)).json()) as {
      data: { subject: string; text: string }[];
    };
    expect(mail.data.map((m) => m.subject)).toStrictEqual(['You are invited to the edgecart admin']);
    const token = /Token: ([A-Za-z0-9_-]{43})$/.exec(mail.data[0]?.text ?? '')?.[1] as string;
    expect(token).toBeDefined();
    expect(Date.parse(body.expires_at) - Date.parse(body.created_at)).toBeGreaterThan(72 * 3600_000 - 5_000);
    expect(Date.parse(body.expires_at) - Date.parse(body.created_at)).toBeLessThanOrEqual(
      72 * 3600_000 + 5_000,
    );

    const row = await db().select().from(staffInvites).where(eq(staffInvites.id, body.id)).get();
    expect(row?.tokenHash).toBe(await sha256Hex(token));
    const listed = await call('/v1/admin/staff/invites?limit=100', { headers: bearer(key.key) });
    expect(JSON.stringify(await listed.json())).not.toContain(token);

    const accepted = await call(
      '/v1/auth/staff/invites/accept',
      jsonInit('POST', { token, name: 'Ana', password: 'correct horse battery staple' }),
    );
    expect(accepted.status).toBe(201);
    const audit = await db().select().from(auditLog).where(eq(auditLog.targetId, body.id)).all();
    expect(audit.map((a) => [a.actorType, a.actorId, a.action, a.targetType, a.changes])).toStrictEqual([
      [
        'secret_key',
        key.id,
        'staff_invite.create',
        'staff_invite',
        { email: address, role: 'catalog_manager' },
      ],
    ]);
  });

  it('replaces a pending invite for the same address', async () => {
    const key = await insertSecretKey();
    const address = email();
    const first = (await (await invite(key.key, { email: address, role: 'support' })).json()) as {
      id: string;
    };
    const second = (await (await invite(key.key, { email: address, role: 'read_only' })).json()) as {
      id: string;
    };
    const rows = await db().select().from(staffInvites).where(eq(staffInvites.email, address)).all();
    expect(rows.map((r) => [r.id, r.role, r.revokedAt !== null])).toStrictEqual([
      [first.id, 'support', true],
      [second.id, 'read_only', false],
    ]);
    const audit = await db().select().from(auditLog).where(eq(auditLog.targetId, first.id)).all();
    expect(audit.map((a) => [a.actorId, a.action, a.changes])).toStrictEqual([
      [key.id, 'staff_invite.create', { email: address, role: 'support' }],
      [key.id, 'staff_invite.revoke', { email: address, role: 'support', replaced_by: second.id }],
    ]);
  });

  it('refuses to invite an owner unless the inviter is an owner (keys never are), writing nothing', async () => {
    const key = await insertSecretKey();
    const res = await expectNoWrites(() => invite(key.key, { email: email(), role: 'owner' }));
    expect(res.status).toBe(403);
    expect(await problemOf(res)).toStrictEqual({
      type: 'https://edgecart.dev/problems/owner_only',
      title: 'Forbidden',
      status: 403,
      detail: 'Only an owner can grant the owner role.',
      code: 'owner_only',
      request_id: expect.any(String),
    });
  });

  it('refuses an address that already belongs to staff with 409', async () => {
    const key = await insertSecretKey();
    const existing = await insertStaff();
    const res = await expectNoWrites(() => invite(key.key, { email: existing.email, role: 'support' }));
    expect(res.status).toBe(409);
    expect((await problemOf(res)).code).toBe('staff_exists');
  });

  it('rejects bad emails, unknown roles and extra fields with 422 at the field', async () => {
    const key = await insertSecretKey();
    for (const [body, pointer, message] of [
      [{ email: 'not-an-email', role: 'support' }, '/body/email', expect.any(String)],
      [{ email: email(), role: 'superuser' }, '/body/role', expect.any(String)],
      [{ email: email(), role: 'support', invited_by: 'stf_x' }, '/body/invited_by', 'Unknown field'],
    ] as const) {
      const res = await expectNoWrites(() =>
        call('/v1/admin/staff/invites', jsonInit('POST', body, bearer(key.key))),
      );
      await expectProblem(res, 422, 'validation_failed', [{ pointer, message }]);
    }
  });
});

describe('listing and revoking invites', () => {
  it('lists invites with their status and revokes a pending one once', async () => {
    const key = await insertSecretKey();
    const created = (await (await invite(key.key, { email: email(), role: 'support' })).json()) as {
      id: string;
    };

    const pending = (await (
      await call('/v1/admin/staff/invites?status=pending&limit=100', { headers: bearer(key.key) })
    ).json()) as {
      data: { id: string; status: string }[];
    };
    expect(pending.data.find((i) => i.id === created.id)?.status).toBe('pending');

    const revoked = await call(`/v1/admin/staff/invites/${created.id}/revoke`, {
      method: 'POST',
      headers: bearer(key.key),
    });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { status: string }).status).toBe('revoked');

    const again = await expectNoWrites(() =>
      call(`/v1/admin/staff/invites/${created.id}/revoke`, { method: 'POST', headers: bearer(key.key) }),
    );
    expect(again.status).toBe(409);
    expect((await problemOf(again)).code).toBe('invite_not_pending');

    const listed = (await (
      await call('/v1/admin/staff/invites?status=revoked&limit=100', { headers: bearer(key.key) })
    ).json()) as {
      data: { id: string }[];
    };
    expect(listed.data.map((i) => i.id)).toContain(created.id);
    const audit = await db().select().from(auditLog).where(eq(auditLog.targetId, created.id)).all();
    expect(audit.map((a) => a.action)).toStrictEqual(['staff_invite.create', 'staff_invite.revoke']);
  });

  it('shows an invite past its expiry as expired and refuses to revoke it', async () => {
    const key = await insertSecretKey();
    const created = (await (await invite(key.key, { email: email(), role: 'support' })).json()) as {
      id: string;
    };
    await db()
      .update(staffInvites)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(staffInvites.id, created.id));
    const listed = (await (
      await call('/v1/admin/staff/invites?status=expired&limit=100', { headers: bearer(key.key) })
    ).json()) as {
      data: { id: string; status: string }[];
    };
    expect(listed.data.find((i) => i.id === created.id)?.status).toBe('expired');
    const res = await call(`/v1/admin/staff/invites/${created.id}/revoke`, {
      method: 'POST',
      headers: bearer(key.key),
    });
    expect(res.status).toBe(409);
  });

  it('answers 404 for an unknown invite', async () => {
    const key = await insertSecretKey();
    const res = await call('/v1/admin/staff/invites/inv_nope/revoke', {
      method: 'POST',
      headers: bearer(key.key),
    });
    expect(res.status).toBe(404);
  });
});

describe('invitations outliving their inviter’s authority', () => {
  const created = async (res: Response) => {
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; email: string };
  };
  const createKey = async (token: string, permissions: string[]) => {
    const res = await call(
      '/v1/admin/api-keys',
      jsonInit('POST', { kind: 'secret', name: unique('key'), permissions }, bearer(token)),
    );
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; secret_key: string };
  };
  const pendingAndRevokes = async (ids: string[]) => {
    const rows = await db().select().from(staffInvites).where(inArray(staffInvites.id, ids)).all();
    const revokes = await db()
      .select()
      .from(auditLog)
      .where(and(inArray(auditLog.targetId, ids), eq(auditLog.action, 'staff_invite.revoke')))
      .all();
    return {
      pending: Object.fromEntries(rows.map((r) => [r.id, r.revokedAt === null])),
      revokes: revokes.map((a) => [a.targetId, a.actorId, a.requestId, a.changes]).sort(),
    };
  };
  const supportPermissions = ['staff:manage', 'catalog:read', 'orders:read', 'inventory:read'];

  it('revokes a disabled member’s pending invitations and their keys’, so none can be accepted', async () => {
    const owner = await signedInStaff('owner');
    const fired = await signedInStaff('admin');
    const key = await createKey(fired.tokens.access_token, supportPermissions);
    const adminRes = await invite(fired.tokens.access_token, { email: email(), role: 'admin' });
    const toAdmin = await created(adminRes.clone());
    const token = await mailedToken(adminRes, toAdmin.email);
    const byKey = await created(await invite(key.secret_key, { email: email(), role: 'support' }));
    const someoneElses = await created(
      await invite(owner.tokens.access_token, { email: email(), role: 'support' }),
    );

    const res = await call(
      `/v1/admin/staff/${fired.staff.id}`,
      jsonInit('PATCH', { status: 'disabled' }, bearer(owner.tokens.access_token)),
    );
    expect(res.status).toBe(200);
    const accepted = await call(
      '/v1/auth/staff/invites/accept',
      jsonInit('POST', { token, name: 'Backdoor', password: 'correct horse battery staple' }),
    );
    expect(accepted.status).toBe(400);
    expect(await problemOf(accepted)).toStrictEqual(invalidInvite);
    const because = { reason: 'creator_disabled', staff_id: fired.staff.id };
    const requestId = res.headers.get('X-Request-Id');
    expect(await pendingAndRevokes([toAdmin.id, byKey.id, someoneElses.id])).toStrictEqual({
      pending: { [toAdmin.id]: false, [byKey.id]: false, [someoneElses.id]: true },
      revokes: [
        [toAdmin.id, owner.staff.id, requestId, { email: toAdmin.email, role: 'admin', ...because }],
        [byKey.id, owner.staff.id, requestId, { email: byKey.email, role: 'support', ...because }],
      ].sort(),
    });
  });

  it('revokes a demoted owner’s pending owner invitations and keeps those the new role could make', async () => {
    const owner = await signedInStaff('owner');
    const demoted = await signedInStaff('owner');
    const toOwner = await created(
      await invite(demoted.tokens.access_token, { email: email(), role: 'owner' }),
    );
    const toAdmin = await created(
      await invite(demoted.tokens.access_token, { email: email(), role: 'admin' }),
    );

    const res = await call(
      `/v1/admin/staff/${demoted.staff.id}`,
      jsonInit('PATCH', { role: 'admin' }, bearer(owner.tokens.access_token)),
    );
    expect(res.status).toBe(200);
    expect(await pendingAndRevokes([toOwner.id, toAdmin.id])).toStrictEqual({
      pending: { [toOwner.id]: false, [toAdmin.id]: true },
      revokes: [
        [
          toOwner.id,
          owner.staff.id,
          res.headers.get('X-Request-Id'),
          { email: toOwner.email, role: 'owner', reason: 'creator_role_changed', staff_id: demoted.staff.id },
        ],
      ],
    });
  });

  it('revokes a revoked key’s pending invitations and those of the keys it created', async () => {
    const admin = await insertSecretKey();
    const parent = await createKey(admin.key, ['api_keys:manage', ...supportPermissions]);
    const child = await createKey(parent.secret_key, supportPermissions);
    const byParent = await created(await invite(parent.secret_key, { email: email(), role: 'support' }));
    const byChild = await created(await invite(child.secret_key, { email: email(), role: 'support' }));

    const res = await call(`/v1/admin/api-keys/${parent.id}/revoke`, {
      method: 'POST',
      headers: bearer(admin.key),
    });
    expect(res.status).toBe(200);
    const because = { reason: 'creator_revoked', api_key_id: parent.id };
    const requestId = res.headers.get('X-Request-Id');
    expect(await pendingAndRevokes([byParent.id, byChild.id])).toStrictEqual({
      pending: { [byParent.id]: false, [byChild.id]: false },
      revokes: [
        [byParent.id, admin.id, requestId, { email: byParent.email, role: 'support', ...because }],
        [byChild.id, admin.id, requestId, { email: byChild.email, role: 'support', ...because }],
      ].sort(),
    });
  });
  it('revokes an invitation made after the disable listed what to revoke, before its batch', async () => {
    const owner = await signedInStaff('owner');
    const member = await signedInStaff('admin');
    let late = { id: '', email: '' };
    const inviteLate = async () => {
      late = await created(await invite(member.tokens.access_token, { email: email(), role: 'support' }));
    };
    const disabled = await updateStaff(
      writeLandsBeforeBatch('staff_users', inviteLate, 'update'),
      staffCaller(owner),
      member.staff.id,
      { status: 'disabled' },
    );
    expect(disabled.status).toBe('disabled');
    const { pending, revokes } = await pendingAndRevokes([late.id]);
    expect(pending).toStrictEqual({ [late.id]: false });
    expect(revokes.map(([id, actor, , changes]) => [id, actor, changes])).toStrictEqual([
      [
        late.id,
        owner.staff.id,
        { email: late.email, role: 'support', reason: 'creator_disabled', staff_id: member.staff.id },
      ],
    ]);
  });

  it('refuses an invitation whose inviter is disabled before it commits: 401, nothing written', async () => {
    const owner = await signedInStaff('owner');
    const member = await signedInStaff('admin');
    const address = email();
    // An invitation the member made earlier to the same address, which the new one would replace.
    const earlier = await created(
      await invite(member.tokens.access_token, { email: address, role: 'support' }),
    );
    // The member's request passed its checks; the owner's disable commits before its insert.
    const disable = () =>
      call(
        `/v1/admin/staff/${member.staff.id}`,
        jsonInit('PATCH', { status: 'disabled' }, bearer(owner.tokens.access_token)),
      ).then((res) => expect(res.status).toBe(200));
    const invitation = createInvite(
      writeLandsBeforeBatch('staff_invites', disable, 'insert into'),
      staffCaller(member),
      { email: address, role: 'admin' },
    );
    // "those made by the member ... are revoked when disabled" (docs/AUTH.md): one written after the disable is
    // not written at all, and the member is answered as their next request would be.
    await expect(invitation).rejects.toMatchObject({
      status: 401,
      code: 'invalid_token',
      message: 'The access token is not valid: session ended.',
    });
    const rows = await db().select().from(staffInvites).where(eq(staffInvites.email, address)).all();
    expect(rows.map((r) => [r.id, r.revokedAt !== null])).toStrictEqual([[earlier.id, true]]);
    // The disable revoked the earlier one; the refused invitation wrote no audit entry of its own.
    expect(
      (await db().select().from(auditLog).where(eq(auditLog.targetId, earlier.id)).all())
        .map((a) => [a.action, a.actorId])
        .sort(),
    ).toStrictEqual([
      ['staff_invite.create', member.staff.id],
      ['staff_invite.revoke', owner.staff.id],
    ]);
  });
});

describe('what revoking a grant reads', () => {
  it('walks a key chain down through api_keys_created_by_idx, a search per level, never a scan of the keys', async () => {
    const query = db()
      .select({ id: sql`id` })
      .from(sql`(${keyIdsDescendedFrom('stf_plan')})`)
      .toSQL();
    const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${query.sql}`)
      .bind(...query.params)
      .all<{ detail: string }>();
    const keysRead = results.map((r) => r.detail).filter((detail) => /\bk\b/.test(detail));
    expect(keysRead).toStrictEqual([
      'SEARCH k USING INDEX api_keys_created_by_idx (created_by=?)',
      'SEARCH k USING INDEX api_keys_created_by_idx (created_by=?)',
    ]);
  });

  it('finds the pending invitations a member or key made through staff_invites_invited_by_idx', async () => {
    const query = db()
      .select({ id: staffInvites.id })
      .from(staffInvites)
      .where(invitesOutliving('stf_plan', null, new Date()))
      .toSQL();
    const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${query.sql}`)
      .bind(...query.params)
      .all<{ detail: string }>();
    const invitesRead = results.map((r) => r.detail).filter((detail) => detail.includes('staff_invites'));
    expect(invitesRead).toStrictEqual([
      'SEARCH staff_invites USING INDEX staff_invites_invited_by_idx (invited_by=?)',
      'SEARCH staff_invites USING INDEX staff_invites_invited_by_idx (invited_by=?)',
    ]);
  });
});
