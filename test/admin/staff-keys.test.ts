/**
 * A secret key must not outlive the authority that created it: disabling a staff member revokes every key their
 * authority made (directly or through one of their keys), a role change revokes those holding more than the new
 * role, both in the batch of the member's change. Keys are created through the API with the member's own token.
 */
import { env } from 'cloudflare:workers';
import { and, eq, inArray } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { apiKeys, auditLog, staffUsers } from '../../src/db/schema';
import { createDb } from '../../src/lib/db';
import { createPublishableKey, createSecretKey } from '../../src/modules/api-keys/service';
import { updateStaff } from '../../src/modules/staff/service';
import { seedRegions } from '../helpers/catalog-fixtures';
import { writeLandsBeforeBatch } from '../helpers/concurrent-write';
import { bearer, call, jsonInit } from '../helpers/http';
import { signedInStaff, staffCaller } from '../helpers/staff';
import { unique } from '../helpers/unique';

const db = () => createDb(env.DB);

type CreatedKey = { id: string; secret_key: string };

async function createKey(token: string, name: string, permissions: string[]): Promise<CreatedKey> {
  const res = await call(
    '/v1/admin/api-keys',
    jsonInit('POST', { kind: 'secret', name, permissions }, bearer(token)),
  );
  expect(res.status).toBe(201);
  return (await res.json()) as CreatedKey;
}

const readProducts = (key: CreatedKey) =>
  call('/v1/admin/products?limit=1', { headers: bearer(key.secret_key) });

const patchStaff = (token: string, id: string, body: unknown) =>
  call(`/v1/admin/staff/${id}`, jsonInit('PATCH', body, bearer(token)));

async function revocations(ids: string[]) {
  const rows = await db()
    .select()
    .from(auditLog)
    .where(and(inArray(auditLog.targetId, ids), eq(auditLog.action, 'api_key.revoke')))
    .all();
  return rows.map((a) => [a.targetId, a.actorId, a.requestId, a.changes]).sort();
}

describe('keys created by a staff member', () => {
  it('are revoked when the member is disabled, with the keys their keys made, audited per key', async () => {
    const owner = await signedInStaff('owner');
    const member = await signedInStaff('admin');
    const direct = await createKey(member.tokens.access_token, 'ERP', ['catalog:read', 'api_keys:manage']);
    const grandchild = await createKey(direct.secret_key, 'ERP child', ['catalog:read']);
    const someoneElses = await createKey(owner.tokens.access_token, 'owner key', ['catalog:read']);
    for (const key of [direct, grandchild, someoneElses]) expect((await readProducts(key)).status).toBe(200);

    const res = await patchStaff(owner.tokens.access_token, member.staff.id, { status: 'disabled' });
    expect(res.status).toBe(200);
    expect((await readProducts(direct)).status).toBe(401);
    expect((await readProducts(grandchild)).status).toBe(401);
    expect((await readProducts(someoneElses)).status).toBe(200);

    const rows = await db()
      .select({ id: apiKeys.id, revokedAt: apiKeys.revokedAt })
      .from(apiKeys)
      .where(inArray(apiKeys.id, [direct.id, grandchild.id, someoneElses.id]))
      .all();
    const revokedAt = rows.find((r) => r.id === direct.id)?.revokedAt?.toISOString();
    expect(revokedAt).toEqual(expect.any(String));
    expect(Object.fromEntries(rows.map((r) => [r.id, r.revokedAt?.toISOString() ?? null]))).toStrictEqual({
      [direct.id]: revokedAt,
      [grandchild.id]: revokedAt,
      [someoneElses.id]: null,
    });
    const requestId = res.headers.get('X-Request-Id');
    const changes = {
      revoked_at: { from: null, to: revokedAt },
      reason: 'creator_disabled',
      staff_id: member.staff.id,
    };
    expect(await revocations([direct.id, grandchild.id, someoneElses.id])).toStrictEqual(
      [
        [direct.id, owner.staff.id, requestId, changes],
        [grandchild.id, owner.staff.id, requestId, changes],
      ].sort(),
    );

    const view = await call(`/v1/admin/staff/${member.staff.id}`, {
      headers: bearer(owner.tokens.access_token),
    });
    expect(view.status).toBe(200);
    expect(await view.json()).toStrictEqual({
      id: member.staff.id,
      email: member.staff.email,
      name: 'Test Staff',
      role: 'admin',
      status: 'disabled',
      mfa_enabled: true,
      created_at: member.staff.createdAt.toISOString(),
      updated_at: expect.any(String),
      api_keys: [
        {
          id: direct.id,
          name: 'ERP',
          permissions: ['catalog:read', 'api_keys:manage'],
          revoked_at: revokedAt,
        },
      ],
    });
  });

  it('are revoked on a demotion when they hold more than the new role, and kept otherwise', async () => {
    const owner = await signedInStaff('owner');
    const member = await signedInStaff('admin');
    const within = await createKey(member.tokens.access_token, 'catalog sync', [
      'catalog:read',
      'catalog:write',
    ]);
    const beyond = await createKey(member.tokens.access_token, 'orders sync', [
      'catalog:read',
      'orders:read',
    ]);

    const res = await patchStaff(owner.tokens.access_token, member.staff.id, { role: 'catalog_manager' });
    expect(res.status).toBe(200);
    expect((await readProducts(within)).status).toBe(200);
    expect((await readProducts(beyond)).status).toBe(401);
    const changes = await revocations([within.id, beyond.id]);
    expect(changes.map(([id, , , change]) => [id, (change as { reason: string }).reason])).toStrictEqual([
      [beyond.id, 'creator_role_changed'],
    ]);

    const view = await call(`/v1/admin/staff/${member.staff.id}`, {
      headers: bearer(owner.tokens.access_token),
    });
    const body = (await view.json()) as { api_keys: { id: string; revoked_at: string | null }[] };
    expect(body.api_keys.map((k) => [k.id, k.revoked_at === null])).toStrictEqual([
      [beyond.id, false],
      [within.id, true],
    ]);
  });

  it('are left alone by a change that keeps the member’s authority (a new name)', async () => {
    const owner = await signedInStaff('owner');
    const member = await signedInStaff('admin');
    const key = await createKey(member.tokens.access_token, 'ERP', ['catalog:read']);
    const res = await patchStaff(owner.tokens.access_token, member.staff.id, { name: 'Renamed' });
    expect(res.status).toBe(200);
    expect((await readProducts(key)).status).toBe(200);
    expect(await revocations([key.id])).toStrictEqual([]);
  });
});

describe('keys racing the change that ends their creator’s authority', () => {
  /** The member's creation passed its checks; the owner's disable or demotion commits before its insert. */
  const changedBeforeInsert = async (change: { status: 'disabled' } | { role: 'support' }) => {
    const owner = await signedInStaff('owner');
    const member = await signedInStaff('admin');
    const land = () =>
      call(
        `/v1/admin/staff/${member.staff.id}`,
        jsonInit('PATCH', change, bearer(owner.tokens.access_token)),
      ).then((res) => expect(res.status).toBe(200));
    return { member, env: writeLandsBeforeBatch('api_keys', land, 'insert into') };
  };
  // As the member's next request would be answered: their sessions ended with the change.
  const sessionEnded = {
    status: 401,
    code: 'invalid_token',
    message: 'The access token is not valid: session ended.',
  };
  const keysNamed = (name: string) => db().select().from(apiKeys).where(eq(apiKeys.name, name)).all();
  const createdBy = (staffId: string) =>
    db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.actorId, staffId), eq(auditLog.action, 'api_key.create')))
      .all();

  it('refuses a secret key whose creator is disabled before it commits: 401, no key', async () => {
    const { member, env } = await changedBeforeInsert({ status: 'disabled' });
    const name = unique('exfil');
    const creation = createSecretKey(env, staffCaller(member), {
      name,
      permissions: ['orders:read', 'api_keys:manage'],
    });
    // "Disabling a staff member revokes every active secret key their authority made" (docs/AUTH.md): one written
    // after the disable is not written at all.
    await expect(creation).rejects.toMatchObject(sessionEnded);
    const member_ = await db().select().from(staffUsers).where(eq(staffUsers.id, member.staff.id)).get();
    expect(member_?.status).toBe('disabled');
    expect(await keysNamed(name)).toStrictEqual([]);
    expect(await createdBy(member.staff.id)).toStrictEqual([]);
  });

  it('refuses a key whose creator is demoted before it commits, even one the new role could make', async () => {
    const { member, env } = await changedBeforeInsert({ role: 'support' });
    const name = unique('after demotion');
    // The request was checked against the admin role: the role the member holds now did not authorize it.
    await expect(
      createSecretKey(env, staffCaller(member), { name, permissions: ['orders:read'] }),
    ).rejects.toMatchObject(sessionEnded);
    expect(await keysNamed(name)).toStrictEqual([]);
    expect(await createdBy(member.staff.id)).toStrictEqual([]);
  });

  it('refuses a publishable key whose creator is disabled before it commits', async () => {
    await seedRegions();
    const { member, env } = await changedBeforeInsert({ status: 'disabled' });
    const name = unique('storefront');
    await expect(
      createPublishableKey(env, staffCaller(member), { name, defaultRegion: 'eu' }),
    ).rejects.toMatchObject(sessionEnded);
    expect(await keysNamed(name)).toStrictEqual([]);
  });

  it('revokes a key created after the disable listed what to revoke, before its batch', async () => {
    const owner = await signedInStaff('owner');
    const member = await signedInStaff('admin');
    const earlier = await createKey(member.tokens.access_token, 'earlier', ['catalog:read']);
    // The disable has listed the member's keys (one); the member creates another before the disable commits.
    let late: CreatedKey | undefined;
    const createLate = async () => {
      late = await createKey(member.tokens.access_token, 'late', ['catalog:read']);
    };
    const disabled = await updateStaff(
      writeLandsBeforeBatch('staff_users', createLate, 'update'),
      staffCaller(owner),
      member.staff.id,
      { status: 'disabled' },
    );
    expect(disabled.status).toBe('disabled');
    const created = late as CreatedKey;
    for (const key of [earlier, created]) expect((await readProducts(key)).status).toBe(401);
    // Listed again, so the late key has its own audit entry like the earlier one.
    const audited = await revocations([earlier.id, created.id]);
    expect(audited.map(([id, actor, , changes]) => [id, actor, changes])).toStrictEqual(
      [earlier.id, created.id]
        .map((id) => [
          id,
          owner.staff.id,
          {
            revoked_at: { from: null, to: expect.any(String) },
            reason: 'creator_disabled',
            staff_id: member.staff.id,
          },
        ])
        .sort(),
    );
  });
});
