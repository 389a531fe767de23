/**
 * Idempotency-Key end to end on a write that exists today (saving, changing and deleting a customer address,
 * changing the profile), against real local D1: a retry replays the first answer, another request with the key
 * is refused, a request still running keeps the key, a dead Worker's lock lapses, and the record is written in
 * the batch of the change, so it exists exactly when the change does.
 */
import { env } from 'cloudflare:workers';
import { Hono } from 'hono';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AppEnv } from '../../src/lib/app-env';
import { createDb } from '../../src/lib/db';
import {
  claimIdempotencyKey,
  IDEMPOTENCY_LOCK_MS,
  IDEMPOTENCY_RETENTION_MS,
  requestFingerprint,
} from '../../src/lib/idempotency';
import { onError } from '../../src/middleware/error-handler';
import { acceptIdempotencyKey } from '../../src/middleware/idempotency';
import { createAddress } from '../../src/modules/customers/address-service';
import { seedRegions } from '../helpers/catalog-fixtures';
import { registerCustomer, type SignedIn, TEST_ADDRESS, withAuth } from '../helpers/customers';
import { call, expectProblem } from '../helpers/http';

const ADDRESSES = '/v1/store/customers/me/addresses';
const db = createDb(env.DB);

beforeAll(seedRegions);

function withKey(who: SignedIn, method: string, key: string, body?: unknown) {
  const init = withAuth(who, method, body);
  return { ...init, headers: { ...(init.headers as Record<string, string>), 'Idempotency-Key': key } };
}

async function addressIdsOf(who: SignedIn): Promise<string[]> {
  const { results } = await env.DB.prepare(
    'SELECT id FROM customer_addresses WHERE customer_id = ? ORDER BY id',
  )
    .bind(who.id)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

async function recordOf(who: SignedIn, key: string) {
  return env.DB.prepare(
    'SELECT status, body, expires_at, created_at FROM idempotency_records WHERE scope = ? AND key = ?',
  )
    .bind(`customer:${who.id}`, key)
    .first<{ status: number; body: string; expires_at: number; created_at: number }>();
}

/** A claim row as a request that is still running (or whose Worker died) leaves it. */
async function insertClaim(
  who: SignedIn,
  key: string,
  request: { method: string; path: string; body: unknown },
  expiresAt: number,
) {
  const hash = await requestFingerprint(request.method, request.path, JSON.stringify(request.body));
  await env.DB.prepare(
    `INSERT INTO idempotency_records (scope, key, request_hash, claim_id, status, body, expires_at)
     VALUES (?, ?, ?, 'claim-of-another-request', 0, '', ?)`,
  )
    .bind(`customer:${who.id}`, key, hash, expiresAt)
    .run();
}

describe('Idempotency-Key on a store write', () => {
  it('replays the first response to a retry, with Idempotent-Replayed, and writes once', async () => {
    const shopper = await registerCustomer();
    const key = crypto.randomUUID();

    const first = await call(ADDRESSES, withKey(shopper, 'POST', key, TEST_ADDRESS));
    expect(first.status).toBe(201);
    expect(first.headers.get('Idempotent-Replayed')).toBeNull();
    const created = await first.json();

    const retry = await call(ADDRESSES, withKey(shopper, 'POST', key, TEST_ADDRESS));
    expect(retry.status).toBe(201);
    expect(retry.headers.get('Idempotent-Replayed')).toBe('true');
    expect(retry.headers.get('Content-Type')).toBe('application/json');
    expect(retry.headers.get('Cache-Control')).toBe('no-store');
    expect(await retry.json()).toStrictEqual(created);

    expect(await addressIdsOf(shopper)).toStrictEqual([(created as { id: string }).id]);
    const record = await recordOf(shopper, key);
    expect(record).toMatchObject({ status: 201, body: JSON.stringify(created) });
    expect(record!.expires_at - record!.created_at).toBeGreaterThanOrEqual(IDEMPOTENCY_RETENTION_MS - 60_000);
  });

  it('treats the same JSON with other key order and spacing as the same request', async () => {
    const shopper = await registerCustomer();
    const key = crypto.randomUUID();
    const first = await call(ADDRESSES, withKey(shopper, 'POST', key, TEST_ADDRESS));
    expect(first.status).toBe(201);

    const reordered = Object.fromEntries(Object.entries(TEST_ADDRESS).reverse());
    const init = withKey(shopper, 'POST', key);
    const retry = await call(ADDRESSES, { ...init, body: JSON.stringify(reordered, null, 2) });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('Idempotent-Replayed')).toBe('true');
    expect(await addressIdsOf(shopper)).toHaveLength(1);
  });

  it('refuses the key for another request with 422 idempotency_key_reused, changing nothing', async () => {
    const shopper = await registerCustomer();
    const key = crypto.randomUUID();
    expect((await call(ADDRESSES, withKey(shopper, 'POST', key, TEST_ADDRESS))).status).toBe(201);

    const otherBody = await call(
      ADDRESSES,
      withKey(shopper, 'POST', key, { ...TEST_ADDRESS, city: 'Hamburg' }),
    );
    await expectProblem(otherBody, 422, 'idempotency_key_reused');
    const otherRoute = await call(
      '/v1/store/customers/me',
      withKey(shopper, 'PATCH', key, { first_name: 'Ada' }),
    );
    await expectProblem(otherRoute, 422, 'idempotency_key_reused');

    expect(await addressIdsOf(shopper)).toHaveLength(1);
    const me = await call('/v1/store/customers/me', withAuth(shopper, 'GET'));
    expect(((await me.json()) as { first_name: unknown }).first_name).toBeNull();
  });

  it('answers 409 idempotency_key_in_use with Retry-After while the first request still runs', async () => {
    const shopper = await registerCustomer();
    const key = crypto.randomUUID();
    await insertClaim(
      shopper,
      key,
      { method: 'POST', path: ADDRESSES, body: TEST_ADDRESS },
      Date.now() + IDEMPOTENCY_LOCK_MS,
    );

    const res = await call(ADDRESSES, withKey(shopper, 'POST', key, TEST_ADDRESS));
    expect(res.headers.get('Retry-After')).toBe('1');
    await expectProblem(res, 409, 'idempotency_key_in_use');
    expect(await addressIdsOf(shopper)).toStrictEqual([]);
  });

  it('of concurrent requests with one key, exactly one writes; the others replay it or are told it is in use', async () => {
    const shopper = await registerCustomer();
    const key = crypto.randomUUID();

    const responses = await Promise.all(
      Array.from({ length: 6 }, () => call(ADDRESSES, withKey(shopper, 'POST', key, TEST_ADDRESS))),
    );

    const ids = await addressIdsOf(shopper);
    expect(ids).toHaveLength(1);
    for (const res of responses) {
      if (res.status === 201) {
        expect(((await res.json()) as { id: string }).id).toBe(ids[0]);
      } else {
        await expectProblem(res, 409, 'idempotency_key_in_use');
      }
    }
    expect(
      responses.filter((r) => r.status === 201 && r.headers.get('Idempotent-Replayed') === null),
    ).toHaveLength(1);
  });

  it('takes over the key of a request whose Worker died before committing, once its lock has lapsed', async () => {
    const shopper = await registerCustomer();
    const key = crypto.randomUUID();
    await insertClaim(shopper, key, { method: 'POST', path: ADDRESSES, body: TEST_ADDRESS }, Date.now() - 1);

    const res = await call(ADDRESSES, withKey(shopper, 'POST', key, TEST_ADDRESS));
    expect(res.status).toBe(201);
    expect(res.headers.get('Idempotent-Replayed')).toBeNull();
    expect(await addressIdsOf(shopper)).toHaveLength(1);
    expect(await recordOf(shopper, key)).toMatchObject({ status: 201 });
  });

  it('forgets an answer past its retention: the key then starts a new request', async () => {
    const shopper = await registerCustomer();
    const key = crypto.randomUUID();
    expect((await call(ADDRESSES, withKey(shopper, 'POST', key, TEST_ADDRESS))).status).toBe(201);
    await env.DB.prepare('UPDATE idempotency_records SET expires_at = ? WHERE scope = ? AND key = ?')
      .bind(Date.now() - 1, `customer:${shopper.id}`, key)
      .run();

    const again = await call(ADDRESSES, withKey(shopper, 'POST', key, TEST_ADDRESS));
    expect(again.status).toBe(201);
    expect(again.headers.get('Idempotent-Replayed')).toBeNull();
    expect(await addressIdsOf(shopper)).toHaveLength(2);
  });

  it('stores nothing for a refused request, so the key can be used again once the request is fixed', async () => {
    const shopper = await registerCustomer();
    const key = crypto.randomUUID();
    const refused = await call(
      ADDRESSES,
      withKey(shopper, 'POST', key, { ...TEST_ADDRESS, country_code: 'de' }),
    );
    expect(refused.status).toBe(422);
    expect(await recordOf(shopper, key)).toBeNull();

    const fixed = await call(ADDRESSES, withKey(shopper, 'POST', key, TEST_ADDRESS));
    expect(fixed.status).toBe(201);
    expect(fixed.headers.get('Idempotent-Replayed')).toBeNull();
  });

  it('keeps keys per customer: the same key from another customer is their own request', async () => {
    const ada = await registerCustomer();
    const bob = await registerCustomer();
    const key = crypto.randomUUID();
    const first = await call(ADDRESSES, withKey(ada, 'POST', key, TEST_ADDRESS));
    const second = await call(ADDRESSES, withKey(bob, 'POST', key, TEST_ADDRESS));
    expect([first.status, second.status]).toStrictEqual([201, 201]);
    expect(second.headers.get('Idempotent-Replayed')).toBeNull();
    expect(await addressIdsOf(ada)).toHaveLength(1);
    expect(await addressIdsOf(bob)).toHaveLength(1);
  });

  it('replays updates and a 204 delete', async () => {
    const shopper = await registerCustomer();
    const patchKey = crypto.randomUUID();
    const patched = await call(
      '/v1/store/customers/me',
      withKey(shopper, 'PATCH', patchKey, { first_name: 'Ada' }),
    );
    expect(patched.status).toBe(200);
    const profile = await patched.json();
    // Changed by someone else meanwhile: the replay is still the first answer, not the current state.
    expect(
      (await call('/v1/store/customers/me', withAuth(shopper, 'PATCH', { first_name: 'Grace' }))).status,
    ).toBe(200);
    const replayed = await call(
      '/v1/store/customers/me',
      withKey(shopper, 'PATCH', patchKey, { first_name: 'Ada' }),
    );
    expect(replayed.headers.get('Idempotent-Replayed')).toBe('true');
    expect(await replayed.json()).toStrictEqual(profile);

    const created = (await (await call(ADDRESSES, withAuth(shopper, 'POST', TEST_ADDRESS))).json()) as {
      id: string;
    };
    const updateKey = crypto.randomUUID();
    const updated = await call(
      `${ADDRESSES}/${created.id}`,
      withKey(shopper, 'PATCH', updateKey, { city: 'Potsdam' }),
    );
    expect(updated.status).toBe(200);
    const updatedBody = await updated.json();
    const updateRetry = await call(
      `${ADDRESSES}/${created.id}`,
      withKey(shopper, 'PATCH', updateKey, { city: 'Potsdam' }),
    );
    expect(updateRetry.headers.get('Idempotent-Replayed')).toBe('true');
    expect(await updateRetry.json()).toStrictEqual(updatedBody);

    const deleteKey = crypto.randomUUID();
    const deleted = await call(`${ADDRESSES}/${created.id}`, withKey(shopper, 'DELETE', deleteKey));
    expect(deleted.status).toBe(204);
    const deleteRetry = await call(`${ADDRESSES}/${created.id}`, withKey(shopper, 'DELETE', deleteKey));
    expect(deleteRetry.status).toBe(204);
    expect(deleteRetry.headers.get('Idempotent-Replayed')).toBe('true');
    expect(await deleteRetry.text()).toBe('');
    // Without the key, the retry of a delete finds nothing to delete.
    await expectProblem(
      await call(`${ADDRESSES}/${created.id}`, withAuth(shopper, 'DELETE')),
      404,
      'not_found',
    );
  });

  it('refuses a malformed key with 400 invalid_idempotency_key; accepts a structured-field string', async () => {
    const shopper = await registerCustomer();
    for (const key of ['', 'has space', 'x'.repeat(256), 'tab\tkey']) {
      await expectProblem(
        await call(ADDRESSES, withKey(shopper, 'POST', key, TEST_ADDRESS)),
        400,
        'invalid_idempotency_key',
      );
    }
    expect(await addressIdsOf(shopper)).toStrictEqual([]);
    const quoted = `"${crypto.randomUUID()}"`;
    expect((await call(ADDRESSES, withKey(shopper, 'POST', quoted, TEST_ADDRESS))).status).toBe(201);
    const retry = await call(ADDRESSES, withKey(shopper, 'POST', quoted.slice(1, -1), TEST_ADDRESS));
    expect(retry.headers.get('Idempotent-Replayed')).toBe('true');
  });

  it('a request that outlived its lock and lost the key to a retry commits nothing (409), the retry wins', async () => {
    const shopper = await registerCustomer();
    const key = crypto.randomUUID();
    const scope = `customer:${shopper.id}`;
    const requestHash = await requestFingerprint('POST', ADDRESSES, JSON.stringify(TEST_ADDRESS));
    const start = Date.now();
    const slow = await claimIdempotencyKey(db, { scope, key, requestHash }, start);
    const retry = await claimIdempotencyKey(db, { scope, key, requestHash }, start + IDEMPOTENCY_LOCK_MS + 1);
    if (!('claimed' in slow) || !('claimed' in retry))
      throw new Error('both should have claimed the key in turn');

    const caller = {
      actor: { type: 'customer' as const, id: shopper.id },
      meta: { requestId: 'slow', ip: null, userAgent: null, traceparent: null },
    };
    await expect(createAddress(env, caller, shopper.id, TEST_ADDRESS, slow.claimed)).rejects.toMatchObject({
      status: 409,
      code: 'idempotency_key_in_use',
    });
    expect(await addressIdsOf(shopper)).toStrictEqual([]);

    const view = await createAddress(
      env,
      { ...caller, meta: { ...caller.meta, requestId: 'retry' } },
      shopper.id,
      TEST_ADDRESS,
      retry.claimed,
    );
    expect(await addressIdsOf(shopper)).toStrictEqual([view.id]);
    expect(await recordOf(shopper, key)).toMatchObject({ status: 201, body: JSON.stringify(view) });
  });
});

describe('a route that requires Idempotency-Key', () => {
  const app = new Hono<AppEnv>()
    .post('/needs-key', acceptIdempotencyKey<AppEnv>({ required: true, scope: () => 'test' }), (c) =>
      c.json({ ok: true }, 201),
    )
    .onError(onError);

  it('refuses a request without one: 400 idempotency_key_required', async () => {
    const res = await app.request(
      '/needs-key',
      { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } },
      env,
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'idempotency_key_required', status: 400 });
  });
});
