import { env } from 'cloudflare:workers';
import { and, eq, inArray } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { issueSecretKey } from '../../src/auth/secret-key';
import { apiKeys, auditLog } from '../../src/db/schema';
import { sha256Hex } from '../../src/lib/crypto';
import { createDb } from '../../src/lib/db';
import { PERMISSIONS } from '../../src/lib/permissions';
import { createSecretKey, revokeApiKey } from '../../src/modules/api-keys/service';
import { expectNoWrites, insertSecretKey, keyCaller } from '../helpers/admin';
import { admin as adminCall } from '../helpers/admin-fixtures';
import { seedRegions } from '../helpers/catalog-fixtures';
import { writeLandsBeforeBatch } from '../helpers/concurrent-write';
import { bearer, call, expectProblem, jsonInit, problemOf } from '../helpers/http';
import { unique } from '../helpers/unique';

const db = () => createDb(env.DB);
const apiKeyBody = {
  id: expect.stringMatching(/^key_[0-9A-Z]{26}$/),
  created_at: expect.any(String),
  last_used_at: null,
  revoked_at: null,
};

beforeAll(async () => {
  await seedRegions();
});

describe('creating secret keys', () => {
  it('creates a key scoped to a subset of the creator’s permissions, shows it once, stores only its hash', async () => {
    const creator = await insertSecretKey(['api_keys:manage', 'catalog:read', 'catalog:write']);
    const name = unique('ERP sync');
    const res = await call(
      '/v1/admin/api-keys',
      jsonInit('POST', { kind: 'secret', name, permissions: ['catalog:read'] }, bearer(creator.key)),
    );
    expect(res.status).toBe(201);
    const body = (await res.json()) as { id: string; secret_key: string };
    expect(body).toStrictEqual({
      ...apiKeyBody,
      kind: 'secret',
      name,
      permissions: ['catalog:read'],
      default_region: null,
      publishable_key: null,
      created_by: creator.id,
      secret_key: expect.stringMatching(new RegExp(`^sk_${body.id}_[A-Za-z0-9_-]{43}$`)),
    });

    const row = await db().select().from(apiKeys).where(eq(apiKeys.id, body.id)).get();
    const secret = body.secret_key.slice(`sk_${body.id}_`.length);
    expect(row?.secretHash).toBe(await sha256Hex(secret));
    expect(JSON.stringify(row)).not.toContain(secret);

    const audit = await db().select().from(auditLog).where(eq(auditLog.targetId, body.id)).all();
    expect(audit).toStrictEqual([
      {
        id: expect.stringMatching(/^aud_/),
        actorType: 'secret_key',
        actorId: creator.id,
        action: 'api_key.create',
        targetType: 'api_key',
        targetId: body.id,
        changes: { kind: 'secret', name, permissions: ['catalog:read'] },
        requestId: res.headers.get('X-Request-Id'),
        createdAt: expect.any(Date),
      },
    ]);
    expect(JSON.stringify(audit)).not.toContain(secret);

    const list = await call('/v1/admin/api-keys?kind=secret&limit=100', { headers: bearer(creator.key) });
    expect(JSON.stringify(await list.json())).not.toContain(secret);
  });

  it('refuses a key with a permission the creator does not hold, and writes nothing', async () => {
    const creator = await insertSecretKey(['api_keys:manage', 'catalog:read']);
    const res = await expectNoWrites(() =>
      call(
        '/v1/admin/api-keys',
        jsonInit(
          'POST',
          {
            kind: 'secret',
            name: 'escalate',
            permissions: ['catalog:read', 'staff:manage', 'orders:refund'],
          },
          bearer(creator.key),
        ),
      ),
    );
    expect(res.status).toBe(403);
    expect(await problemOf(res)).toStrictEqual({
      type: 'https://edgecart.dev/problems/permission_escalation',
      title: 'Forbidden',
      status: 403,
      detail: 'You cannot create a key with permissions you do not hold: staff:manage, orders:refund.',
      code: 'permission_escalation',
      request_id: expect.any(String),
    });
  });

  it('rejects unknown permissions, duplicates, an empty list and unknown fields with 422', async () => {
    const creator = await insertSecretKey();
    const bodies = [
      [
        { kind: 'secret', name: 'x', permissions: ['catalog:everything'] },
        '/body/permissions/0',
        expect.any(String),
      ],
      [
        { kind: 'secret', name: 'x', permissions: ['catalog:read', 'catalog:read'] },
        '/body/permissions',
        'List each permission once.',
      ],
      [{ kind: 'secret', name: 'x', permissions: [] }, '/body/permissions', expect.any(String)],
      [
        { kind: 'secret', name: 'x', permissions: ['catalog:read'], created_by: 'someone' },
        '/body/created_by',
        'Unknown field',
      ],
      [{ kind: 'admin', name: 'x' }, '/body/kind', expect.any(String)],
    ] as const;
    for (const [body, pointer, message] of bodies) {
      const res = await expectNoWrites(() =>
        call('/v1/admin/api-keys', jsonInit('POST', body, bearer(creator.key))),
      );
      await expectProblem(res, 422, 'validation_failed', [{ pointer, message }]);
    }
  });
});

describe('using scoped secret keys', () => {
  it('lets a key do what it holds and refuses the rest with 403', async () => {
    const reader = await insertSecretKey(['api_keys:manage']);
    const allowed = await call('/v1/admin/api-keys', { headers: bearer(reader.key) });
    expect(allowed.status).toBe(200);
    const refused = await call('/v1/admin/audit-log', { headers: bearer(reader.key) });
    expect(refused.status).toBe(403);
    expect(await problemOf(refused)).toStrictEqual({
      type: 'https://edgecart.dev/problems/forbidden',
      title: 'Forbidden',
      status: 403,
      detail: 'This action needs the "audit:read" permission.',
      code: 'forbidden',
      request_id: expect.any(String),
    });
  });

  it('holds nothing when its row lists no permissions', async () => {
    const key = await insertSecretKey();
    await db().update(apiKeys).set({ permissions: null }).where(eq(apiKeys.id, key.id));
    const res = await call('/v1/admin/api-keys', { headers: bearer(key.key) });
    expect(res.status).toBe(403);
  });

  it('records when a key was last used', async () => {
    const key = await insertSecretKey(['api_keys:manage']);
    const before = await db().select().from(apiKeys).where(eq(apiKeys.id, key.id)).get();
    expect(before?.lastUsedAt).toBeNull();
    await call('/v1/admin/api-keys', { headers: bearer(key.key) });
    await expect
      .poll(async () => (await db().select().from(apiKeys).where(eq(apiKeys.id, key.id)).get())?.lastUsedAt)
      .toBeInstanceOf(Date);
  });

  it('answers 401 with a challenge for a missing, malformed or wrong key', async () => {
    const key = await insertSecretKey();
    const wrong = `${key.key.slice(0, -4)}AAAA`;
    for (const headers of [{}, { Authorization: 'Basic abc' }, bearer('sk_nope'), bearer(wrong)]) {
      const res = await call('/v1/admin/api-keys', { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer realm="edgecart-admin"/);
      expect(['unauthenticated', 'invalid_credentials', 'invalid_token']).toContain(
        (await problemOf(res)).code,
      );
    }
  });
});

describe('revoking keys', () => {
  it('revokes a key: it answers 401 from then on, the revocation is audited, a second revoke changes nothing', async () => {
    const admin = await insertSecretKey();
    const victim = await insertSecretKey(['catalog:read', 'api_keys:manage']);
    const res = await call(`/v1/admin/api-keys/${victim.id}/revoke`, {
      method: 'POST',
      headers: bearer(admin.key),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual({
      ...apiKeyBody,
      kind: 'secret',
      name: expect.any(String),
      permissions: ['catalog:read', 'api_keys:manage'],
      default_region: null,
      publishable_key: null,
      created_by: 'system',
      last_used_at: null,
      revoked_at: expect.any(String),
    });

    const after = await call('/v1/admin/api-keys', { headers: bearer(victim.key) });
    expect(after.status).toBe(401);
    expect((await problemOf(after)).code).toBe('invalid_credentials');

    const again = await expectNoWrites(() =>
      call(`/v1/admin/api-keys/${victim.id}/revoke`, { method: 'POST', headers: bearer(admin.key) }),
    );
    expect(again.status).toBe(200);
    const audit = await db().select().from(auditLog).where(eq(auditLog.targetId, victim.id)).all();
    expect(audit.map((a) => [a.action, a.actorId, a.changes])).toStrictEqual([
      ['api_key.revoke', admin.id, { revoked_at: { from: null, to: expect.any(String) } }],
    ]);
  });

  it('revokes the keys the key created, and theirs, in the same write, audited per key', async () => {
    const admin = await insertSecretKey();
    const createKey = async (token: string, name: string, permissions: string[]) => {
      const res = await call(
        '/v1/admin/api-keys',
        jsonInit('POST', { kind: 'secret', name, permissions }, bearer(token)),
      );
      expect(res.status).toBe(201);
      return (await res.json()) as { id: string; secret_key: string };
    };
    const leaked = await createKey(admin.key, 'leaked', ['api_keys:manage', 'catalog:read']);
    const child = await createKey(leaked.secret_key, 'child', ['api_keys:manage', 'catalog:read']);
    const grandchild = await createKey(child.secret_key, 'grandchild', ['catalog:read']);
    const sibling = await createKey(admin.key, 'sibling', ['catalog:read']);
    // A storefront key the leaked key made grants nothing: it stays (docs/AUTH.md).
    const storefront = await call(
      '/v1/admin/api-keys',
      jsonInit(
        'POST',
        { kind: 'publishable', name: 'storefront', default_region: 'eu' },
        bearer(leaked.secret_key),
      ),
    );
    expect(storefront.status).toBe(201);
    const publishable = (await storefront.json()) as { id: string };

    const res = await call(`/v1/admin/api-keys/${leaked.id}/revoke`, {
      method: 'POST',
      headers: bearer(admin.key),
    });
    expect(res.status).toBe(200);
    for (const key of [leaked, child, grandchild]) {
      const refused = await call('/v1/admin/products?limit=1', { headers: bearer(key.secret_key) });
      expect(refused.status).toBe(401);
      expect((await problemOf(refused)).code).toBe('invalid_credentials');
    }
    expect((await call('/v1/admin/products?limit=1', { headers: bearer(sibling.secret_key) })).status).toBe(
      200,
    );

    const ids = [leaked.id, child.id, grandchild.id, sibling.id, publishable.id];
    const rows = await db().select().from(apiKeys).where(inArray(apiKeys.id, ids)).all();
    expect(Object.fromEntries(rows.map((r) => [r.id, r.revokedAt !== null]))).toStrictEqual({
      [leaked.id]: true,
      [child.id]: true,
      [grandchild.id]: true,
      [sibling.id]: false,
      [publishable.id]: false,
    });
    const audit = await db()
      .select()
      .from(auditLog)
      .where(and(inArray(auditLog.targetId, ids), eq(auditLog.action, 'api_key.revoke')))
      .all();
    const revokedAt = (id: string) => rows.find((r) => r.id === id)?.revokedAt?.toISOString();
    const byCreator = (id: string) => ({
      revoked_at: { from: null, to: revokedAt(id) },
      reason: 'creator_revoked',
      api_key_id: leaked.id,
    });
    expect(audit.map((a) => [a.targetId, a.actorId, a.requestId, a.changes]).sort()).toStrictEqual(
      [
        [
          leaked.id,
          admin.id,
          res.headers.get('X-Request-Id'),
          { revoked_at: { from: null, to: revokedAt(leaked.id) } },
        ],
        [child.id, admin.id, res.headers.get('X-Request-Id'), byCreator(child.id)],
        [grandchild.id, admin.id, res.headers.get('X-Request-Id'), byCreator(grandchild.id)],
      ].sort(),
    );
  });

  it('revokes a key its key created after the revoke listed what to revoke, before its batch', async () => {
    const admin = await insertSecretKey();
    const leaked = await insertSecretKey(['orders:read', 'api_keys:manage']);
    let child = '';
    const createChild = async () => {
      const res = await call(
        '/v1/admin/api-keys',
        jsonInit(
          'POST',
          { kind: 'secret', name: unique('child'), permissions: ['orders:read'] },
          bearer(leaked.key),
        ),
      );
      expect(res.status).toBe(201);
      child = ((await res.json()) as { id: string; secret_key: string }).secret_key;
    };
    const revoked = await revokeApiKey(
      writeLandsBeforeBatch('api_keys', createChild, 'update'),
      keyCaller(admin.id, ['orders:read', 'api_keys:manage']),
      leaked.id,
    );
    expect(revoked.revokedAt).toBeInstanceOf(Date);
    expect((await call('/v1/admin/orders?limit=1', { headers: bearer(leaked.key) })).status).toBe(401);
    expect((await call('/v1/admin/orders?limit=1', { headers: bearer(child) })).status).toBe(401);
  });

  it('revokes a leaked key whose holder keeps minting keys with it, at once: what it minted before is revoked and audited, a mint after is refused', async () => {
    const admin = await insertSecretKey();
    const leaked = await insertSecretKey(['orders:read', 'api_keys:manage']);
    const children: string[] = [];
    const mint = async () =>
      call(
        '/v1/admin/api-keys',
        jsonInit(
          'POST',
          { kind: 'secret', name: unique('mint'), permissions: ['orders:read'] },
          bearer(leaked.key),
        ),
      );
    // The holder's mint lands right before the revoke's batch (a loop of mints does it in production).
    const caller = keyCaller(admin.id, ['orders:read', 'api_keys:manage']);
    const revoked = await revokeApiKey(
      writeLandsBeforeBatch(
        'api_keys',
        async () => {
          const res = await mint();
          expect(res.status).toBe(201);
          children.push(((await res.json()) as { id: string }).id);
        },
        'update',
      ),
      caller,
      leaked.id,
    );
    expect(revoked.revokedAt).toBeInstanceOf(Date);
    expect(children).toHaveLength(1);
    const rows = await db()
      .select({ id: apiKeys.id, revokedAt: apiKeys.revokedAt })
      .from(apiKeys)
      .where(inArray(apiKeys.id, [leaked.id, ...children]))
      .all();
    expect(rows.every((r) => r.revokedAt instanceof Date)).toBe(true);
    const audited = await db()
      .select()
      .from(auditLog)
      .where(and(inArray(auditLog.targetId, [leaked.id, ...children]), eq(auditLog.action, 'api_key.revoke')))
      .all();
    expect(
      audited.map((a) => [a.id.length, a.actorType, a.actorId, a.targetId, a.requestId, a.changes]).sort(),
    ).toStrictEqual(
      [
        [
          30,
          'secret_key',
          admin.id,
          leaked.id,
          caller.meta.requestId,
          { revoked_at: { from: null, to: expect.any(String) } },
        ],
        [
          30,
          'secret_key',
          admin.id,
          children[0],
          caller.meta.requestId,
          {
            revoked_at: { from: null, to: expect.any(String) },
            reason: 'creator_revoked',
            api_key_id: leaked.id,
          },
        ],
      ].sort(),
    );
    expect(new Set(audited.map((a) => a.id)).size).toBe(2);
    // After the revoke, the leaked key mints nothing.
    expect((await mint()).status).toBe(401);
    expect((await call('/v1/admin/orders?limit=1', { headers: bearer(leaked.key) })).status).toBe(401);
  });

  it('a leaked key whose holder mints a child key in a loop is still revoked (not 409 grants_changed every time)', async () => {
    const admin = await insertSecretKey();
    const leaked = await insertSecretKey(['orders:read', 'api_keys:manage']);
    // The thief mints keys with the leaked key as fast as it can: one lands between each listing of what to
    // revoke and its batch (forced here for the three attempts one revoke makes; a loop does it in production,
    // where each listing is a round trip to the D1 primary).
    const mint = async () => {
      const res = await call(
        '/v1/admin/api-keys',
        jsonInit(
          'POST',
          { kind: 'secret', name: unique('mint'), permissions: ['orders:read'] },
          bearer(leaked.key),
        ),
      );
      expect(res.status).toBe(201);
    };
    const revoke = () =>
      revokeApiKey(
        writeLandsBeforeBatch('api_keys', mint, 'update', 3),
        keyCaller(admin.id, ['orders:read', 'api_keys:manage']),
        leaked.id,
      );
    // Staff press "revoke": the leaked key must stop working, whatever it minted meanwhile.
    const outcome = await revoke().then(
      (row) => ({ revoked: row.revokedAt instanceof Date }),
      (error: { status?: number; code?: string }) => ({ status: error.status, code: error.code }),
    );
    expect((await call('/v1/admin/orders?limit=1', { headers: bearer(leaked.key) })).status).toBe(401);
    expect(outcome).toStrictEqual({ revoked: true });
  });

  it('answers a revoke that lost the race to another with the key as revoked, not as it was read', async () => {
    const admin = await insertSecretKey();
    const target = await insertSecretKey(['orders:read']);
    const revoked = await revokeApiKey(
      writeLandsBeforeBatch(
        'api_keys',
        async () => {
          const res = await call(
            `/v1/admin/api-keys/${target.id}/revoke`,
            jsonInit('POST', {}, bearer(admin.key)),
          );
          expect(res.status).toBe(200);
        },
        'update',
      ),
      keyCaller(admin.id, ['orders:read', 'api_keys:manage']),
      target.id,
    );
    expect(revoked.revokedAt).toBeInstanceOf(Date);
    const audited = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.targetId, target.id), eq(auditLog.action, 'api_key.revoke')))
      .all();
    expect(audited).toHaveLength(1);
  });

  it('revokes a key that made more than 100 keys and all 101 of them (D1 binds at most 100 parameters per statement), instead of answering 500', async () => {
    const parent = await issueSecretKey(env.DB, 'integration parent', PERMISSIONS);
    const children: string[] = [];
    for (let i = 0; i < 101; i++) {
      const res = await call(
        '/v1/admin/api-keys',
        jsonInit(
          'POST',
          { kind: 'secret', name: `ci-${i}`, permissions: ['catalog:read'] },
          bearer(parent.key),
        ),
      );
      expect(res.status).toBe(201);
      children.push(((await res.json()) as { id: string }).id);
    }
    const res = await adminCall('POST', `/api-keys/${parent.id}/revoke`);
    expect(res.status, await res.clone().text()).toBe(200);
    const { results } = await env.DB.prepare(
      `SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL AND id IN (SELECT value FROM json_each(?))`,
    )
      .bind(JSON.stringify(children))
      .all<{ n: number }>();
    expect(results[0]?.n).toBe(0);
  });

  it('refuses to let a narrow key revoke a broader one', async () => {
    const narrow = await insertSecretKey(['api_keys:manage']);
    const broad = await insertSecretKey();
    const res = await expectNoWrites(() =>
      call(`/v1/admin/api-keys/${broad.id}/revoke`, { method: 'POST', headers: bearer(narrow.key) }),
    );
    expect(res.status).toBe(403);
    expect((await problemOf(res)).code).toBe('permission_escalation');
  });

  it('answers 404 for an unknown key', async () => {
    const admin = await insertSecretKey();
    const res = await call('/v1/admin/api-keys/key_nope/revoke', {
      method: 'POST',
      headers: bearer(admin.key),
    });
    expect(res.status).toBe(404);
    expect((await problemOf(res)).code).toBe('not_found');
  });
  it('refuses a key created by a key that is revoked before the creation commits: 401, no key', async () => {
    const admin = await insertSecretKey();
    const leaked = await insertSecretKey(['orders:read', 'api_keys:manage']);
    // The creation passed its checks; the revoke commits before its insert.
    const revoke = () =>
      call(`/v1/admin/api-keys/${leaked.id}/revoke`, jsonInit('POST', {}, bearer(admin.key))).then((res) =>
        expect(res.status).toBe(200),
      );
    const name = unique('child');
    const creation = createSecretKey(
      writeLandsBeforeBatch('api_keys', revoke, 'insert into'),
      keyCaller(leaked.id, ['orders:read', 'api_keys:manage']),
      { name, permissions: ['orders:read'] },
    );
    // "Revoking a key likewise revokes every active secret key down its created_by chain" (docs/AUTH.md): one
    // written after the revoke is not written at all, and the answer is the revoked key's 401.
    await expect(creation).rejects.toMatchObject({
      status: 401,
      code: 'invalid_credentials',
      message: 'The API key is not valid.',
    });
    expect(await db().select().from(apiKeys).where(eq(apiKeys.name, name)).all()).toStrictEqual([]);
    expect(
      await db()
        .select()
        .from(auditLog)
        .where(and(eq(auditLog.actorId, leaked.id), eq(auditLog.action, 'api_key.create')))
        .all(),
    ).toStrictEqual([]);
  });
});

describe('listing keys', () => {
  it('pages newest first and hides revoked keys unless asked', async () => {
    const admin = await insertSecretKey();
    const first = await insertSecretKey(['catalog:read']);
    const second = await insertSecretKey(['catalog:read']);
    await call(`/v1/admin/api-keys/${first.id}/revoke`, { method: 'POST', headers: bearer(admin.key) });

    const active = (await (
      await call('/v1/admin/api-keys?kind=secret&limit=100', { headers: bearer(admin.key) })
    ).json()) as {
      data: { id: string }[];
    };
    expect(active.data.map((k) => k.id)).toContain(second.id);
    expect(active.data.map((k) => k.id)).not.toContain(first.id);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `include_revoked=true&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await (
        await call(`/v1/admin/api-keys?${query}`, { headers: bearer(admin.key) })
      ).json()) as {
        data: { id: string }[];
        page: { next_cursor: string | null };
      };
      seen.push(...page.data.map((k) => k.id));
      cursor = page.page.next_cursor;
    } while (cursor);
    expect(seen).toContain(first.id);
    expect(seen).toStrictEqual([...seen].sort().reverse());
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('answers 422 for a forged cursor', async () => {
    const admin = await insertSecretKey();
    const forged = btoa(JSON.stringify({ sort: 'created_at_desc', key: ['x', 1] }));
    const res = await expectNoWrites(() =>
      call(`/v1/admin/api-keys?cursor=${forged}`, { headers: bearer(admin.key) }),
    );
    await expectProblem(res, 422, 'invalid_cursor', [
      { pointer: '/query/cursor', message: expect.any(String) },
    ]);
  });
});
