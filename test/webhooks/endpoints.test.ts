/**
 * Registering and managing webhook endpoints over HTTP: the contract of each route, the signing secret shown
 * exactly once (and stored only encrypted), validation of event types, the outbound URL guard at registration,
 * audit entries, and the webhooks:manage permission.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { systemCaller } from '../../src/lib/caller';
import { decryptField } from '../../src/lib/encryption';
import { AppError } from '../../src/lib/errors';
import { createEndpoint as createEndpointService } from '../../src/modules/webhooks/service';
import { expectNoWrites, insertSecretKey } from '../helpers/admin';
import { bearer, call, expectProblem, jsonInit, problemOf } from '../helpers/http';
import { signedInStaff } from '../helpers/staff';
import { createEndpoint } from '../helpers/webhooks';

let token = '';
beforeAll(async () => {
  token = (await insertSecretKey(['webhooks:manage'])).key;
});

const admin = (method: string, path: string, body?: unknown) =>
  call(
    `/v1/admin${path}`,
    body === undefined ? { method, headers: bearer(token) } : jsonInit(method, body, bearer(token)),
  );

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const SECRET = /^whsec_[A-Za-z0-9+/]{43}=$/;

async function auditEntries(targetId: string) {
  const { results } = await env.DB.prepare(
    'SELECT actor_type, action, target_type, target_id, changes FROM audit_log WHERE target_id = ? ORDER BY rowid',
  )
    .bind(targetId)
    .all<{ actor_type: string; action: string; target_type: string; target_id: string; changes: string }>();
  return results.map((row) => ({ ...row, changes: JSON.parse(row.changes) as unknown }));
}

async function storedEndpoint(id: string) {
  return env.DB.prepare('SELECT * FROM webhook_endpoints WHERE id = ?')
    .bind(id)
    .first<{ secret_encrypted: string; previous_secret_encrypted: string | null }>();
}

describe('POST /v1/admin/webhooks', () => {
  it('answers 201 with the endpoint and its whsec_ secret, which is stored only encrypted', async () => {
    const res = await admin('POST', '/webhooks', {
      url: 'https://hooks.example.com/edgecart',
      events: ['order.*', 'product.updated'],
      description: 'ERP sync',
    });

    expect(res.status).toBe(201);
    const body = (await res.json()) as { id: string; secret: string; created_at: string };
    expect(body).toStrictEqual({
      id: expect.stringMatching(/^whe_[0-9A-Z]{26}$/),
      url: 'https://hooks.example.com/edgecart',
      description: 'ERP sync',
      events: ['order.*', 'product.updated'],
      enabled: true,
      disabled_reason: null,
      disabled_at: null,
      failing_since: null,
      previous_secret_expires_at: null,
      created_at: expect.stringMatching(ISO),
      updated_at: body.created_at,
      secret: expect.stringMatching(SECRET),
    });
    expect(res.headers.get('Location')).toBe(`/v1/admin/webhooks/${body.id}`);
    expect(res.headers.get('Cache-Control')).toBe('no-store');

    const stored = await storedEndpoint(body.id);
    expect(stored?.secret_encrypted).toMatch(/^v1\./);
    expect(stored?.secret_encrypted).not.toContain(body.secret.slice(6));
    expect(await decryptField(env, stored?.secret_encrypted ?? '')).toBe(body.secret);

    expect(await auditEntries(body.id)).toStrictEqual([
      {
        actor_type: 'secret_key',
        action: 'webhook_endpoint.create',
        target_type: 'webhook_endpoint',
        target_id: body.id,
        changes: {
          url: 'https://hooks.example.com/edgecart',
          events: ['order.*', 'product.updated'],
          description: 'ERP sync',
          enabled: true,
        },
      },
    ]);
  });

  it('never shows the secret again: get, list and update answer without it', async () => {
    const created = await createEndpoint(token, { url: 'https://hooks.example.com/a' });
    const { secret: _secret, ...endpoint } = created as unknown as Record<string, unknown>;

    const got = await admin('GET', `/webhooks/${created.id}`);
    expect(got.status).toBe(200);
    expect(got.headers.get('Cache-Control')).toBe('no-store');
    expect(await got.json()).toStrictEqual(endpoint);

    const listed = (await (await admin('GET', '/webhooks?limit=100')).json()) as { data: unknown[] };
    expect(listed.data).toContainEqual(endpoint);
    expect(JSON.stringify(listed)).not.toContain('whsec_');

    const updated = await admin('PATCH', `/webhooks/${created.id}`, { description: 'x' });
    expect(JSON.stringify(await updated.json())).not.toContain('whsec_');
  });

  it('starts disabled when asked to', async () => {
    const res = await admin('POST', '/webhooks', {
      url: 'https://hooks.example.com/b',
      events: ['*'],
      enabled: false,
    });
    expect(await res.json()).toMatchObject({
      enabled: false,
      disabled_reason: 'manual',
      disabled_at: expect.stringMatching(ISO),
    });
  });

  it.each([
    [{ url: 'https://hooks.example.com/x', events: ['order.created', 'order.teleported'] }, '/body/events/1'],
    [{ url: 'https://hooks.example.com/x', events: ['orders.*'] }, '/body/events/0'],
    [{ url: 'https://hooks.example.com/x', events: ['order.*.created'] }, '/body/events/0'],
    [{ url: 'https://hooks.example.com/x', events: ['order.paid', 'order.paid'] }, '/body/events'],
    [{ url: 'https://hooks.example.com/x', events: [] }, '/body/events'],
    [{ url: 'https://hooks.example.com/x' }, '/body/events'],
    [{ events: ['*'] }, '/body/url'],
    [{ url: 'ftp://hooks.example.com/x', events: ['*'] }, '/body/url'],
    [
      { url: 'https://hooks.example.com/x', events: ['*'], description: 'x'.repeat(501) },
      '/body/description',
    ],
    [{ url: 'https://hooks.example.com/x', events: ['*'], secret: 'whsec_mine' }, '/body/secret'],
  ])('refuses %j with 422 at %s, storing nothing', async (body, pointer) => {
    const res = await expectNoWrites(() => admin('POST', '/webhooks', body));
    await expectProblem(res, 422, 'validation_failed', [{ pointer, message: expect.any(String) }]);
  });
});

describe('the outbound URL guard at registration', () => {
  const refused = (message: string) => ({
    type: 'https://edgecart.dev/problems/url_not_allowed',
    title: 'Unprocessable Content',
    status: 422,
    detail: 'The Worker may not connect to this URL.',
    code: 'url_not_allowed',
    request_id: expect.any(String),
    errors: [{ pointer: '/body/url', message: `Not allowed: ${message}` }],
  });

  it.each([
    ['http://hooks.example.com/x', 'not https'],
    ['https://user:secret@hooks.example.com/x', 'credentials in the URL'],
    ['https://hooks.example.com:8443/x', 'a port other than 443'],
    ['https://10.0.0.7/x', 'a private or reserved IPv4 address'],
    ['https://172.16.4.1/x', 'a private or reserved IPv4 address'],
    ['https://192.168.1.10/x', 'a private or reserved IPv4 address'],
    ['https://127.0.0.2/x', 'a private or reserved IPv4 address'],
    ['https://0x7f.0.0.3/x', 'a private or reserved IPv4 address'],
    ['https://[::1]/x', 'a private or reserved IPv6 address'],
    ['https://169.254.10.20/x', 'a private or reserved IPv4 address'],
    ['https://[fe80::1]/x', 'a private or reserved IPv6 address'],
    ['https://169.254.169.254/latest/meta-data/', 'a private or reserved IPv4 address'],
    ['https://[fd00:ec2::254]/x', 'a private or reserved IPv6 address'],
    ['https://100.100.100.200/x', 'a private or reserved IPv4 address'],
    ['https://[::ffff:10.0.0.1]/x', 'a private or reserved IPv6 address'],
    ['https://metadata.google.internal/x', 'a local host name'],
    ['https://printer.local/x', 'a local host name'],
    ['https://intranet/x', 'a single-label host name'],
    ['https://metadata.google.internal../computeMetadata/v1/', 'an empty label in the host name'],
    ['https://printer.local../x', 'an empty label in the host name'],
    ['https://intranet../x', 'an empty label in the host name'],
    ['https://[::ffff:0:7f00:1]/x', 'a private or reserved IPv6 address'],
  ])('refuses %s (%s) on create and on update, storing nothing', async (url, reason) => {
    const { id } = await createEndpoint(token, { url: 'https://hooks.example.com/ok' });
    for (const request of [
      () => admin('POST', '/webhooks', { url, events: ['*'] }),
      () => admin('PATCH', `/webhooks/${id}`, { url }),
    ]) {
      const res = await expectNoWrites(request);
      expect(res.status).toBe(422);
      expect(await problemOf(res)).toStrictEqual(refused(reason));
    }
  });

  it('accepts http on localhost and 127.0.0.1 outside production, so a developer can receive webhooks locally', async () => {
    for (const url of ['http://localhost:8787/webhooks', 'http://127.0.0.1:3000/hooks']) {
      expect((await admin('POST', '/webhooks', { url, events: ['*'] })).status).toBe(201);
      const input = { url, events: ['*'] };
      await expect(
        createEndpointService({ ...env, ENVIRONMENT: 'development' }, systemCaller('t', 't'), input),
      ).resolves.toMatchObject({ endpoint: { url } });
    }
  });

  it('refuses localhost in production', async () => {
    const attempt = createEndpointService({ ...env, ENVIRONMENT: 'production' }, systemCaller('t', 't'), {
      url: 'http://localhost:8787/webhooks',
      events: ['*'],
    });
    await expect(attempt).rejects.toBeInstanceOf(AppError);
    await expect(attempt).rejects.toMatchObject({
      status: 422,
      code: 'url_not_allowed',
      errors: [{ pointer: '/body/url', message: 'Not allowed: not https' }],
    });
  });
});

describe('GET /v1/admin/webhooks', () => {
  it('lists endpoints newest first, a page at a time', async () => {
    const made = [];
    for (let i = 0; i < 3; i++)
      made.push(await createEndpoint(token, { url: `https://hooks.example.com/p${i}` }));
    const first = (await (await admin('GET', '/webhooks?limit=2')).json()) as {
      data: { id: string }[];
      page: { limit: number; next_cursor: string | null };
    };
    expect(first.data.map((e) => e.id)).toStrictEqual([made[2]?.id, made[1]?.id]);
    expect(first.page).toStrictEqual({ limit: 2, next_cursor: expect.any(String) });
    const second = (await (
      await admin('GET', `/webhooks?limit=2&cursor=${first.page.next_cursor}`)
    ).json()) as { data: { id: string }[] };
    expect(second.data[0]?.id).toBe(made[0]?.id);
  });

  it('refuses a cursor of another listing with 422', async () => {
    const deliveries = await admin('GET', '/webhooks?cursor=eyJzb3J0IjoiY29kZSIsImtleSI6WyJ4Il19');
    await expectProblem(deliveries, 422, 'invalid_cursor', [
      { pointer: '/query/cursor', message: expect.any(String) },
    ]);
  });

  it('answers 404 for an endpoint that does not exist and 422 for a malformed id', async () => {
    await expectProblem(await admin('GET', '/webhooks/whe_01ZZZZZZZZZZZZZZZZZZZZZZZZ'), 404, 'not_found');
    await expectProblem(await admin('GET', '/webhooks/prod_1'), 422, 'validation_failed', [
      { pointer: '/path/id', message: expect.any(String) },
    ]);
  });
});

describe('PATCH /v1/admin/webhooks/{id}', () => {
  it('changes the url, events and description, and audits from and to', async () => {
    const { id } = await createEndpoint(token, { url: 'https://hooks.example.com/old', description: 'old' });
    const res = await admin('PATCH', `/webhooks/${id}`, {
      url: 'https://hooks.example.com/new',
      events: ['customer.*'],
      description: null,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      url: 'https://hooks.example.com/new',
      events: ['customer.*'],
      description: null,
      enabled: true,
    });
    expect((await auditEntries(id)).at(-1)).toStrictEqual({
      actor_type: 'secret_key',
      action: 'webhook_endpoint.update',
      target_type: 'webhook_endpoint',
      target_id: id,
      changes: {
        url: { from: 'https://hooks.example.com/old', to: 'https://hooks.example.com/new' },
        events: { from: ['*'], to: ['customer.*'] },
        description: { from: 'old', to: null },
      },
    });
  });

  it('disables by hand and re-enables', async () => {
    const { id } = await createEndpoint(token, { url: 'https://hooks.example.com/toggle' });
    const off = (await (await admin('PATCH', `/webhooks/${id}`, { enabled: false })).json()) as Record<
      string,
      unknown
    >;
    expect(off).toMatchObject({
      enabled: false,
      disabled_reason: 'manual',
      disabled_at: expect.stringMatching(ISO),
    });
    const on = await (await admin('PATCH', `/webhooks/${id}`, { enabled: true })).json();
    expect(on).toMatchObject({
      enabled: true,
      disabled_reason: null,
      disabled_at: null,
      failing_since: null,
    });
  });

  it('refuses an empty change and unknown fields with 422', async () => {
    const { id } = await createEndpoint(token, { url: 'https://hooks.example.com/empty' });
    await expectProblem(await admin('PATCH', `/webhooks/${id}`, {}), 422, 'validation_failed', [
      { pointer: '/body', message: 'Send at least one field to change' },
    ]);
    await expectProblem(
      await admin('PATCH', `/webhooks/${id}`, { enabled: true, failing_since: null }),
      422,
      'validation_failed',
      [{ pointer: '/body/failing_since', message: 'Unknown field' }],
    );
  });
});

describe('DELETE /v1/admin/webhooks/{id}', () => {
  it('removes the endpoint with its deliveries, audited; a second delete is a 404', async () => {
    const { id } = await createEndpoint(token, { url: 'https://hooks.example.com/gone' });
    await env.DB.prepare(
      "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, origin, payload, next_attempt_at) VALUES ('whd_X', ?, 'evt_X', 'order.paid', 'event', '{}', 0)",
    )
      .bind(id)
      .run();
    const res = await admin('DELETE', `/webhooks/${id}`);
    expect(res.status).toBe(204);
    expect(await storedEndpoint(id)).toBeNull();
    expect(await env.DB.prepare("SELECT id FROM webhook_deliveries WHERE id = 'whd_X'").first()).toBeNull();
    expect((await auditEntries(id)).at(-1)).toMatchObject({ action: 'webhook_endpoint.delete' });
    await expectProblem(await admin('DELETE', `/webhooks/${id}`), 404, 'not_found');
  });
});

describe('POST /v1/admin/webhooks/{id}/rotate-secret', () => {
  it('answers a new secret once and keeps the old one signing for 24 hours', async () => {
    const created = await createEndpoint(token, { url: 'https://hooks.example.com/rotate' });
    const before = await storedEndpoint(created.id);
    const started = Date.now();

    const res = await admin('POST', `/webhooks/${created.id}/rotate-secret`);

    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const body = (await res.json()) as { secret: string; previous_secret_expires_at: string };
    expect(body).toMatchObject({ id: created.id, secret: expect.stringMatching(SECRET) });
    expect(body.secret).not.toBe(created.secret);
    const expiresAt = Date.parse(body.previous_secret_expires_at);
    expect(expiresAt).toBeGreaterThanOrEqual(started + 24 * 3600_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 24 * 3600_000);

    const after = await storedEndpoint(created.id);
    expect(after?.previous_secret_encrypted).toBe(before?.secret_encrypted);
    expect(await decryptField(env, after?.secret_encrypted ?? '')).toBe(body.secret);
    const entry = (await auditEntries(created.id)).at(-1);
    expect(entry).toStrictEqual({
      actor_type: 'secret_key',
      action: 'webhook_endpoint.rotate_secret',
      target_type: 'webhook_endpoint',
      target_id: created.id,
      changes: { previous_secret_expires_at: body.previous_secret_expires_at },
    });
    expect(await (await admin('GET', `/webhooks/${created.id}`)).json()).not.toHaveProperty('secret');
  });

  it('answers 404 for an unknown endpoint', async () => {
    await expectProblem(
      await admin('POST', '/webhooks/whe_01ZZZZZZZZZZZZZZZZZZZZZZZZ/rotate-secret'),
      404,
      'not_found',
    );
  });
});

describe('permissions', () => {
  const routes = (id: string): [string, string, unknown?][] => [
    ['POST', '/webhooks', { url: 'https://hooks.example.com/x', events: ['*'] }],
    ['GET', '/webhooks'],
    ['GET', `/webhooks/${id}`],
    ['PATCH', `/webhooks/${id}`, { enabled: false }],
    ['DELETE', `/webhooks/${id}`],
    ['POST', `/webhooks/${id}/rotate-secret`],
    ['GET', `/webhooks/${id}/deliveries`],
    ['POST', `/webhooks/${id}/deliveries/whd_01ZZZZZZZZZZZZZZZZZZZZZZZZ/redeliver`],
    ['POST', `/webhooks/${id}/replay`, { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' }],
    ['POST', `/webhooks/${id}/test`],
  ];
  const forbidden = {
    type: 'https://edgecart.dev/problems/forbidden',
    title: 'Forbidden',
    status: 403,
    detail: 'This action needs the "webhooks:manage" permission.',
    code: 'forbidden',
    request_id: expect.any(String),
  };

  it('refuses every webhook route with 403 to a key or a staff member without webhooks:manage', async () => {
    const { id } = await createEndpoint(token, { url: 'https://hooks.example.com/perm' });
    const key = (await insertSecretKey(['catalog:read', 'catalog:write', 'orders:read', 'settings:manage']))
      .key;
    const { tokens } = await signedInStaff('catalog_manager');
    for (const credential of [key, tokens.access_token]) {
      for (const [method, path, body] of routes(id)) {
        const init =
          body === undefined
            ? { method, headers: bearer(credential) }
            : jsonInit(method, body, bearer(credential));
        const res = await expectNoWrites(() => call(`/v1/admin${path}`, init));
        expect(res.status, `${method} ${path}`).toBe(403);
        expect(await problemOf(res)).toStrictEqual(forbidden);
      }
    }
  });

  it('lets an owner (who holds every permission) manage webhooks', async () => {
    const { tokens } = await signedInStaff('owner');
    const res = await call(
      '/v1/admin/webhooks',
      jsonInit(
        'POST',
        { url: 'https://hooks.example.com/owner', events: ['*'] },
        bearer(tokens.access_token),
      ),
    );
    expect(res.status).toBe(201);
  });
});
