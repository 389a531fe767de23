import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_REMEMBERED, resolvePublishableKey } from '../../src/auth/publishable-key';
import { apiKeys, auditLog, regions } from '../../src/db/schema';
import { systemCaller } from '../../src/lib/caller';
import { createDb } from '../../src/lib/db';
import { newId } from '../../src/lib/ids';
import { deleteRegion } from '../../src/modules/regions/admin-service';
import { expectNoWrites, insertSecretKey } from '../helpers/admin';
import { createRegion } from '../helpers/admin-fixtures';
import { seedRegions } from '../helpers/catalog-fixtures';
import { writeLandsBeforeBatch } from '../helpers/concurrent-write';
import { bearer, call, jsonInit, problemOf } from '../helpers/http';
import { unique } from '../helpers/unique';

const db = () => createDb(env.DB);
let admin: { id: string; key: string };

beforeAll(async () => {
  await seedRegions();
  admin = await insertSecretKey();
});

async function createPublishableKey(defaultRegion: string) {
  const name = unique('storefront');
  const res = await call(
    '/v1/admin/api-keys',
    jsonInit('POST', { kind: 'publishable', name, default_region: defaultRegion }, bearer(admin.key)),
  );
  expect(res.status).toBe(201);
  const body = (await res.json()) as { id: string; publishable_key: string };
  expect(body).toStrictEqual({
    id: expect.stringMatching(/^key_/),
    kind: 'publishable',
    name,
    permissions: null,
    default_region: defaultRegion,
    publishable_key: `pk_${body.id}`,
    created_by: admin.id,
    created_at: expect.any(String),
    last_used_at: null,
    revoked_at: null,
    secret_key: null,
  });
  return body;
}

const regionOf = async (res: Response) => {
  expect(res.status).toBe(200);
  return ((await res.json()) as { context: { region: string } }).context.region;
};

describe('publishable keys on storefront routes', () => {
  it('uses the key’s default region only when neither the region parameter nor the country decides', async () => {
    const pk = await createPublishableKey('uk');
    const headers = { 'X-Publishable-Api-Key': pk.publishable_key };
    expect(await regionOf(await call('/v1/store/regions', { headers }))).toBe('uk');
    expect(await regionOf(await call('/v1/store/regions', { headers, cf: { country: 'BR' } }))).toBe('uk');
    expect(await regionOf(await call('/v1/store/regions', { headers, cf: { country: 'DE' } }))).toBe('eu');
    expect(await regionOf(await call('/v1/store/regions?region=us', { headers }))).toBe('us');
    expect(await regionOf(await call('/v1/store/regions', { cf: { country: 'BR' } }))).toBe('us');
  });

  it('records the key’s last use', async () => {
    const pk = await createPublishableKey('eu');
    await call('/v1/store/regions', { headers: { 'X-Publishable-Api-Key': pk.publishable_key } });
    await expect
      .poll(async () => (await db().select().from(apiKeys).where(eq(apiKeys.id, pk.id)).get())?.lastUsedAt)
      .toBeInstanceOf(Date);
  });

  it('refuses an unknown or malformed key with 401', async () => {
    for (const key of ['pk_key_01JD3Q6C5W9ZK2M4T8R7XPN0AB', 'pk_nope', '', admin.key]) {
      const res = await call('/v1/store/regions', { headers: { 'X-Publishable-Api-Key': key } });
      expect(res.status, key).toBe(401);
      expect(await problemOf(res)).toStrictEqual({
        type: 'https://edgecart.dev/problems/invalid_publishable_key',
        title: 'Unauthorized',
        status: 401,
        detail: 'The publishable API key is not valid.',
        code: 'invalid_publishable_key',
        request_id: expect.any(String),
      });
    }
  });

  it('keeps answering a real key from memory through a flood of made-up ones', async () => {
    const pk = await createPublishableKey('eu');
    const lookups: string[] = [];
    const resolve = (presented: string) => resolvePublishableKey(env.DB, presented, (id) => lookups.push(id));
    expect(await resolve(pk.publishable_key)).toStrictEqual({ id: pk.id, defaultRegion: 'eu' });
    expect(lookups).toStrictEqual([pk.id]);
    // Well-formed keys that do not exist, more than the isolate remembers: each is a D1 query of its own.
    for (let i = 0; i <= MAX_REMEMBERED; i++) {
      expect(await resolve(`pk_key_${String(i).padStart(26, '0')}`)).toBeNull();
    }
    expect(await resolve(pk.publishable_key)).toStrictEqual({ id: pk.id, defaultRegion: 'eu' });
    expect(lookups).toStrictEqual([pk.id]);
  });

  it('refuses a revoked key, even for a response the edge has cached', async () => {
    const pk = await createPublishableKey('eu');
    const headers = { 'X-Publishable-Api-Key': pk.publishable_key };
    // A query parameter of its own keeps this cache entry apart from other tests'.
    const path = `/v1/store/regions?region=eu&t=${pk.id}`;
    expect((await call(path, { headers })).headers.get('X-Cache')).toBe('MISS');
    expect((await call(path, { headers })).headers.get('X-Cache')).toBe('HIT');
    const revoke = await call(`/v1/admin/api-keys/${pk.id}/revoke`, {
      method: 'POST',
      headers: bearer(admin.key),
    });
    expect(revoke.status).toBe(200);
    const res = await call(path, { headers });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe('invalid_publishable_key');
  });

  it('is not an admin credential', async () => {
    const pk = await createPublishableKey('eu');
    const res = await call('/v1/admin/api-keys', { headers: bearer(pk.publishable_key) });
    expect(res.status).toBe(401);
  });

  it('may be sent cross-origin from an allowed storefront', async () => {
    const res = await call('/v1/store/regions', {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://shop.test',
        'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'x-publishable-api-key',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('Access-Control-Allow-Headers')?.toLowerCase()).toContain('x-publishable-api-key');
  });
});

describe('creating publishable keys', () => {
  it('refuses a default region that does not exist, writing nothing', async () => {
    const res = await expectNoWrites(() =>
      call(
        '/v1/admin/api-keys',
        jsonInit('POST', { kind: 'publishable', name: 'x', default_region: 'mars' }, bearer(admin.key)),
      ),
    );
    expect(res.status).toBe(422);
    expect(await problemOf(res)).toStrictEqual({
      type: 'https://edgecart.dev/problems/unknown_region',
      title: 'Unprocessable Content',
      status: 422,
      detail: 'There is no region "mars".',
      code: 'unknown_region',
      request_id: expect.any(String),
      errors: [{ pointer: '/body/default_region', message: 'Use the code of an existing region.' }],
    });
  });

  it('audits the creation', async () => {
    const pk = await createPublishableKey('eu');
    const audit = await db().select().from(auditLog).where(eq(auditLog.targetId, pk.id)).all();
    expect(audit.map((a) => [a.action, a.actorType, a.actorId, a.changes])).toStrictEqual([
      [
        'api_key.create',
        'secret_key',
        admin.id,
        { kind: 'publishable', name: expect.any(String), default_region: 'eu' },
      ],
    ]);
  });

  it('needs no permission beyond api_keys:manage, since it grants none', async () => {
    const manager = await insertSecretKey(['api_keys:manage']);
    const res = await call(
      '/v1/admin/api-keys',
      jsonInit('POST', { kind: 'publishable', name: 'web', default_region: 'eu' }, bearer(manager.key)),
    );
    expect(res.status).toBe(201);
  });
});

describe('a key’s default region when the region changes', () => {
  const adminCall = (method: string, path: string, body?: unknown) =>
    call(
      `/v1/admin${path}`,
      body === undefined ? { method, headers: bearer(admin.key) } : jsonInit(method, body, bearer(admin.key)),
    );

  it('keeps a publishable key’s default region when the region’s code changes', async () => {
    const region = await createRegion({ countries: [], locales: ['en'] });
    const pk = await createPublishableKey(region.code);
    const headers = { 'X-Publishable-Api-Key': pk.publishable_key };
    // From a country no region serves, so the key decides; asked before the change, so the isolate remembers it.
    expect(await regionOf(await call('/v1/store/regions', { headers, cf: { country: 'BR' } }))).toBe(
      region.code,
    );

    const code = unique('rn').toLowerCase().slice(0, 32);
    expect((await adminCall('PATCH', `/regions/${region.id}`, { code })).status).toBe(200);

    expect(await regionOf(await call('/v1/store/regions', { headers, cf: { country: 'BR' } }))).toBe(code);
    expect((await db().select().from(apiKeys).where(eq(apiKeys.id, pk.id)).get())?.defaultRegion).toBe(code);
    const audit = await db().select().from(auditLog).where(eq(auditLog.targetId, pk.id));
    expect(audit.map((a) => [a.action, a.changes])).toStrictEqual([
      ['api_key.create', expect.anything()],
      ['api_key.update', { fields: [], row: { default_region: { from: region.code, to: code } } }],
    ]);
  });

  it('refuses to delete a region an active key defaults to with 409, and deletes it once the key is revoked', async () => {
    const region = await createRegion({ countries: [] });
    const pk = await createPublishableKey(region.code);

    const refused = await expectNoWrites(() => adminCall('DELETE', `/regions/${region.id}`));
    expect(refused.status).toBe(409);
    expect(await problemOf(refused)).toStrictEqual({
      type: 'https://edgecart.dev/problems/region_has_publishable_keys',
      title: 'Conflict',
      status: 409,
      detail: `Publishable keys sell in region "${region.code}" by default; revoke them first.`,
      code: 'region_has_publishable_keys',
      request_id: expect.any(String),
    });

    expect((await adminCall('POST', `/api-keys/${pk.id}/revoke`)).status).toBe(200);
    expect((await adminCall('DELETE', `/regions/${region.id}`)).status).toBe(204);
  });

  it('refuses in its batch a region delete when a key naming the region was created after its check', async () => {
    const region = await createRegion({ countries: [] });
    const keyId = newId('key');
    const createKey = () =>
      env.DB.prepare(
        "INSERT INTO api_keys (id, kind, name, secret_hash, default_region) VALUES (?, 'publishable', 'late', ?, ?)",
      )
        .bind(keyId, unique('hash'), region.code)
        .run();
    const deletion = deleteRegion(
      writeLandsBeforeBatch('regions', createKey),
      systemCaller('test', unique('run')),
      region.id,
    );
    await expect(deletion).rejects.toMatchObject({ status: 409, code: 'region_has_publishable_keys' });
    expect(await db().select().from(regions).where(eq(regions.id, region.id))).toHaveLength(1);
    expect(await db().select().from(auditLog).where(eq(auditLog.targetId, region.id))).toHaveLength(1);
  });
});
