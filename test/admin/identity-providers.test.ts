import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoWrites, insertSecretKey } from '../helpers/admin';
import { bearer, call, expectProblem, jsonInit, problemOf } from '../helpers/http';
import { unique } from '../helpers/unique';

let manager = '';
beforeAll(async () => {
  manager = (await insertSecretKey(['settings:manage'])).key;
});

const admin = (method: string, path: string, body?: unknown, token = manager) =>
  call(
    `/v1/admin${path}`,
    body === undefined ? { method, headers: bearer(token) } : jsonInit(method, body, bearer(token)),
  );

function input(overrides: Record<string, unknown> = {}) {
  const host = `${unique('idp')}.test`;
  return {
    name: 'Example ID',
    issuer: `https://${host}`,
    client_id: 'shop-client',
    jwks_url: `https://${host}/jwks`,
    ...overrides,
  };
}

async function create(overrides: Record<string, unknown> = {}) {
  const res = await admin('POST', '/identity-providers', input(overrides));
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; issuer: string };
}

const row = (id: string) => env.DB.prepare('SELECT * FROM identity_providers WHERE id = ?').bind(id).first();

describe('/v1/admin/identity-providers', () => {
  it('creates a provider (enabled by default) and lists it', async () => {
    const body = input();
    const res = await admin('POST', '/identity-providers', body);
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string };
    expect(created).toStrictEqual({
      id: expect.stringMatching(/^idp_[0-9A-Z]{26}$/),
      ...body,
      enabled: true,
      created_at: expect.any(String),
    });
    expect(res.headers.get('Location')).toBe(`/v1/admin/identity-providers/${created.id}`);
    expect(await row(created.id)).toMatchObject({
      issuer: body.issuer,
      client_id: body.client_id,
      enabled: 1,
    });
    expect(
      await env.DB.prepare('SELECT action, target_id FROM audit_log WHERE target_id = ?')
        .bind(created.id)
        .first(),
    ).toStrictEqual({ action: 'identity_provider.create', target_id: created.id });

    const list = await admin('GET', '/identity-providers');
    expect(list.status).toBe(200);
    expect(((await list.json()) as { data: unknown[] }).data).toContainEqual(created);
  });

  it('updates and disables a provider', async () => {
    const { id } = await create();
    const res = await admin('PATCH', `/identity-providers/${id}`, { name: 'Renamed', enabled: false });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id, name: 'Renamed', enabled: false });
    expect(await row(id)).toMatchObject({ name: 'Renamed', enabled: 0 });
  });

  it('deletes a provider; then it is not found', async () => {
    const { id } = await create();
    expect((await admin('DELETE', `/identity-providers/${id}`)).status).toBe(204);
    expect(await row(id)).toBeNull();
    const again = await admin('DELETE', `/identity-providers/${id}`);
    expect(again.status).toBe(404);
    expect((await problemOf(again)).detail).toBe('Identity provider was not found.');
  });

  it('refuses a second provider for one issuer, on create and on update, changing nothing', async () => {
    const taken = await create();
    const other = await create();
    for (const request of [
      () => admin('POST', '/identity-providers', input({ issuer: taken.issuer })),
      () => admin('PATCH', `/identity-providers/${other.id}`, { issuer: taken.issuer }),
    ]) {
      const res = await expectNoWrites(request);
      expect(res.status).toBe(409);
      expect(await problemOf(res)).toStrictEqual({
        type: 'https://edgecart.dev/problems/issuer_taken',
        title: 'Conflict',
        status: 409,
        detail: 'A provider with this issuer already exists.',
        code: 'issuer_taken',
        request_id: expect.any(String),
      });
    }
  });

  it.each([
    [input({ issuer: 'http://plain.test' }), ['/body/issuer']],
    [input({ jwks_url: 'not a url' }), ['/body/jwks_url']],
    [input({ id: 'idp_chosen' }), ['/body/id']],
    [{ name: 'x' }, ['/body/issuer', '/body/client_id', '/body/jwks_url']],
  ])('refuses invalid input %o with 422 at %o, storing nothing', async (body, pointers) => {
    const res = await expectNoWrites(() => admin('POST', '/identity-providers', body));
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.map((e) => e.pointer).sort()).toStrictEqual(pointers.sort());
  });

  it('names the rule a plain-http URL breaks', async () => {
    const res = await admin('POST', '/identity-providers', input({ jwks_url: 'http://keys.test/jwks' }));
    expect((await problemOf(res)).errors).toStrictEqual([
      { pointer: '/body/jwks_url', message: 'Not allowed: not https' },
    ]);
  });

  it('refuses an empty update and a malformed id with 422', async () => {
    const { id } = await create();
    const empty = await expectNoWrites(() => admin('PATCH', `/identity-providers/${id}`, {}));
    await expectProblem(empty, 422, 'validation_failed', [
      { pointer: '/body', message: 'Send at least one field to change' },
    ]);
    const malformed = await expectNoWrites(() => admin('DELETE', '/identity-providers/not-an-id'));
    await expectProblem(malformed, 422, 'validation_failed', [
      { pointer: '/path/id', message: expect.any(String) },
    ]);
  });

  it('needs settings:manage: 403 for a key without it, 401 without credentials, changing nothing', async () => {
    const { id } = await create();
    const reader = (await insertSecretKey(['catalog:read', 'catalog:write'])).key;
    for (const request of [
      () => admin('POST', '/identity-providers', input(), reader),
      () => admin('PATCH', `/identity-providers/${id}`, { enabled: false }, reader),
      () => admin('DELETE', `/identity-providers/${id}`, undefined, reader),
      () => admin('GET', '/identity-providers', undefined, reader),
    ]) {
      const res = await expectNoWrites(request);
      expect(res.status).toBe(403);
      expect((await problemOf(res)).detail).toBe('This action needs the "settings:manage" permission.');
    }
    const anonymous = await expectNoWrites(() => call('/v1/admin/identity-providers'));
    expect(anonymous.status).toBe(401);
  });
});
