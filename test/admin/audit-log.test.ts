import { describe, expect, it } from 'vitest';
import { expectNoWrites, insertSecretKey } from '../helpers/admin';
import { bearer, call, expectProblem, jsonInit, problemOf } from '../helpers/http';
import { unique } from '../helpers/unique';

type Page = { data: Record<string, unknown>[]; page: { limit: number; next_cursor: string | null } };

async function createKeyAs(creatorKey: string) {
  const res = await call(
    '/v1/admin/api-keys',
    jsonInit(
      'POST',
      { kind: 'secret', name: unique('k'), permissions: ['catalog:read'] },
      bearer(creatorKey),
    ),
  );
  expect(res.status).toBe(201);
  return { id: ((await res.json()) as { id: string }).id, requestId: res.headers.get('X-Request-Id') };
}

describe('GET /v1/admin/audit-log', () => {
  it('lists entries with actor, action, target, changes and request id', async () => {
    const auditor = await insertSecretKey(['audit:read']);
    const creator = await insertSecretKey(['api_keys:manage', 'catalog:read']);
    const created = await createKeyAs(creator.key);

    const res = await call(`/v1/admin/audit-log?target_type=api_key&target_id=${created.id}`, {
      headers: bearer(auditor.key),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual({
      data: [
        {
          id: expect.stringMatching(/^aud_/),
          actor_type: 'secret_key',
          actor_id: creator.id,
          action: 'api_key.create',
          target_type: 'api_key',
          target_id: created.id,
          changes: { kind: 'secret', name: expect.any(String), permissions: ['catalog:read'] },
          request_id: created.requestId,
          created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        },
      ],
      page: { limit: 20, next_cursor: null },
    });
  });

  it('filters by actor and action, pages newest first without gaps or repeats', async () => {
    const auditor = await insertSecretKey(['audit:read']);
    const creator = await insertSecretKey(['api_keys:manage', 'catalog:read']);
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await createKeyAs(creator.key)).id);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `actor_type=secret_key&actor_id=${creator.id}&action=api_key.create&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await (
        await call(`/v1/admin/audit-log?${query}`, { headers: bearer(auditor.key) })
      ).json()) as Page;
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((e) => String(e.target_id)));
      cursor = page.page.next_cursor;
    } while (cursor);
    expect(seen).toStrictEqual([...ids].reverse());
  });

  it('is readable only with audit:read, and reading it writes nothing', async () => {
    const everythingElse = await insertSecretKey([
      'api_keys:manage',
      'staff:manage',
      'catalog:read',
      'settings:manage',
    ]);
    const res = await expectNoWrites(() =>
      call('/v1/admin/audit-log', { headers: bearer(everythingElse.key) }),
    );
    expect(res.status).toBe(403);
    expect((await problemOf(res)).detail).toBe('This action needs the "audit:read" permission.');
    const anonymous = await call('/v1/admin/audit-log');
    expect(anonymous.status).toBe(401);
  });

  it('rejects malformed filters with 422', async () => {
    const auditor = await insertSecretKey(['audit:read']);
    for (const [query, code, pointer] of [
      ['actor_type=robot', 'validation_failed', '/query/actor_type'],
      ['action=DROP%20TABLE', 'validation_failed', '/query/action'],
      ['limit=1000', 'validation_failed', '/query/limit'],
      ['cursor=%%%', 'invalid_cursor', '/query/cursor'],
    ] as const) {
      const res = await expectNoWrites(() =>
        call(`/v1/admin/audit-log?${query}`, { headers: bearer(auditor.key) }),
      );
      await expectProblem(res, 422, code, [{ pointer, message: expect.any(String) }]);
    }
  });
});
