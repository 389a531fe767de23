import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { decryptField, encryptField } from '../../src/lib/encryption';
import { newId } from '../../src/lib/ids';
import { MAX_ADDRESSES } from '../../src/modules/customers/schemas';
import { seedRegions } from '../helpers/catalog-fixtures';
import {
  TEST_ADDRESS as address,
  registerCustomer,
  type SignedIn,
  saveAddress,
  withAuth,
} from '../helpers/customers';
import { bearer, call, problemOf } from '../helpers/http';

beforeAll(seedRegions);

describe('addresses', () => {
  it('are created, listed, updated and deleted; stored encrypted except the country', async () => {
    const who = await registerCustomer();
    const created = await saveAddress(who, { ...address, is_default_shipping: true });
    expect(created).toStrictEqual({
      id: expect.stringMatching(/^addr_/),
      ...address,
      company: null,
      line2: null,
      province: null,
      is_default_shipping: true,
      is_default_billing: false,
      created_at: expect.any(String),
    });
    const row = await env.DB.prepare(
      'SELECT data_encrypted, country_code FROM customer_addresses WHERE id = ?',
    )
      .bind(created.id)
      .first<{ data_encrypted: string; country_code: string }>();
    expect(row?.country_code).toBe('DE');
    // Ciphertext under the current data key, not the plaintext; it opens to exactly the address.
    expect(row?.data_encrypted).toMatch(/^v1\.test-2\.[\w-]{16}\.[\w-]+$/);
    for (const value of ['Linden', 'Lovelace', 'Berlin', '10117', '1234567']) {
      expect(row?.data_encrypted).not.toContain(value);
    }
    expect(JSON.parse(await decryptField(env, row?.data_encrypted as string))).toStrictEqual({
      first_name: 'Ada',
      last_name: 'Lovelace',
      company: null,
      line1: 'Unter den Linden 1',
      line2: null,
      city: 'Berlin',
      postal_code: '10117',
      province: null,
      phone: '+49 30 1234567',
    });

    const second = await saveAddress(who, { ...address, city: 'Hamburg', is_default_shipping: true });
    const list = (await (
      await call('/v1/store/customers/me/addresses', { headers: bearer(who.tokens.access_token) })
    ).json()) as {
      data: { id: string; is_default_shipping: boolean }[];
    };
    expect(list.data.map((a) => [a.id, a.is_default_shipping])).toStrictEqual([
      [created.id, false],
      [second.id, true],
    ]);

    const patched = await call(
      `/v1/store/customers/me/addresses/${created.id}`,
      withAuth(who, 'PATCH', { line2: 'Hinterhaus' }),
    );
    expect((await patched.json()) as { line2: string; city: string }).toMatchObject({
      line2: 'Hinterhaus',
      city: 'Berlin',
    });
    expect(
      (await call(`/v1/store/customers/me/addresses/${created.id}`, withAuth(who, 'DELETE'))).status,
    ).toBe(204);
    expect(
      await env.DB.prepare('SELECT COUNT(*) AS n FROM customer_addresses WHERE customer_id = ?')
        .bind(who.id)
        .first(),
    ).toStrictEqual({ n: 1 });
  });

  it('of another customer are not found, and stay unchanged', async () => {
    const owner = await registerCustomer();
    const intruder = await registerCustomer();
    const theirs = await saveAddress(owner, { ...address, is_default_shipping: true });
    const before = await env.DB.prepare('SELECT * FROM customer_addresses WHERE id = ?')
      .bind(theirs.id)
      .first();
    // The intruder's own default is scoped to the intruder: the owner's default stays.
    await saveAddress(intruder, { ...address, is_default_shipping: true });
    for (const [method, body] of [
      ['PATCH', { city: 'Elsewhere' }],
      ['DELETE', undefined],
    ] as const) {
      const res = await call(
        `/v1/store/customers/me/addresses/${theirs.id}`,
        withAuth(intruder, method, body),
      );
      expect(res.status).toBe(404);
      expect(await problemOf(res)).toStrictEqual({
        type: 'https://edgecart.dev/problems/not_found',
        title: 'Not Found',
        status: 404,
        detail: 'Address was not found.',
        code: 'not_found',
        request_id: expect.any(String),
      });
    }
    const list = (await (
      await call('/v1/store/customers/me/addresses', { headers: bearer(intruder.tokens.access_token) })
    ).json()) as {
      data: unknown[];
    };
    expect(list.data).not.toContainEqual(expect.objectContaining({ id: theirs.id }));
    expect(
      await env.DB.prepare('SELECT * FROM customer_addresses WHERE id = ?').bind(theirs.id).first(),
    ).toStrictEqual(before);
  });

  it('reject invalid input with pointers', async () => {
    const who = await registerCustomer();
    const res = await call(
      '/v1/store/customers/me/addresses',
      withAuth(who, 'POST', { ...address, country_code: 'Germany', customer_id: 'x' }),
    );
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.map((e) => e.pointer).sort()).toStrictEqual([
      '/body/country_code',
      '/body/customer_id',
    ]);
  });
});

/** `n` addresses written straight to D1 (encrypted like the API does), so a test can start near the cap. */
async function insertAddresses(customerId: string, n: number) {
  const data = await encryptField(
    env,
    JSON.stringify({ ...address, company: null, line2: null, province: null }),
  );
  const rows = Array.from({ length: n }, () =>
    env.DB.prepare(
      'INSERT INTO customer_addresses (id, customer_id, data_encrypted, country_code) VALUES (?, ?, ?, ?)',
    ).bind(newId('addr'), customerId, data, 'DE'),
  );
  await env.DB.batch(rows);
}
const addressCount = async (customerId: string) =>
  (
    await env.DB.prepare('SELECT COUNT(*) AS n FROM customer_addresses WHERE customer_id = ?')
      .bind(customerId)
      .first<{ n: number }>()
  )?.n;

describe('address limits', () => {
  it(`refuses the address after ${MAX_ADDRESSES} with 409 address_limit_reached, changing nothing`, async () => {
    const who = await registerCustomer();
    await insertAddresses(who.id, MAX_ADDRESSES - 1);
    const last = await saveAddress(who, { ...address, is_default_shipping: true });
    const before = (
      await env.DB.prepare('SELECT * FROM customer_addresses WHERE customer_id = ? ORDER BY id')
        .bind(who.id)
        .all()
    ).results;
    const res = await call(
      '/v1/store/customers/me/addresses',
      withAuth(who, 'POST', { ...address, is_default_shipping: true }),
    );
    expect(res.status).toBe(409);
    expect(await problemOf(res)).toStrictEqual({
      type: 'https://edgecart.dev/problems/address_limit_reached',
      title: 'Conflict',
      status: 409,
      detail: `An account can save at most ${MAX_ADDRESSES} addresses; delete one to add another.`,
      code: 'address_limit_reached',
      request_id: expect.any(String),
    });
    // Not even the default flag moved.
    expect(
      (
        await env.DB.prepare('SELECT * FROM customer_addresses WHERE customer_id = ? ORDER BY id')
          .bind(who.id)
          .all()
      ).results,
    ).toStrictEqual(before);
    expect(before.filter((r) => r.is_default_shipping === 1).map((r) => r.id)).toStrictEqual([last.id]);
  });

  it('holds under concurrent creates: of five racing for the last two places, exactly two succeed', async () => {
    const who = await registerCustomer();
    await insertAddresses(who.id, MAX_ADDRESSES - 2);
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        call(
          '/v1/store/customers/me/addresses',
          withAuth(who, 'POST', { ...address, is_default_billing: true }),
        ),
      ),
    );
    expect(results.map((r) => r.status).sort()).toStrictEqual([201, 201, 409, 409, 409]);
    for (const refused of results.filter((r) => r.status === 409)) {
      expect((await problemOf(refused)).code).toBe('address_limit_reached');
    }
    expect(await addressCount(who.id)).toBe(MAX_ADDRESSES);
    // The refused creates cleared no default: the billing default is one of the two that were created.
    const created = await Promise.all(
      results.filter((r) => r.status === 201).map(async (r) => ((await r.json()) as { id: string }).id),
    );
    const defaults = (
      await env.DB.prepare(
        'SELECT id FROM customer_addresses WHERE customer_id = ? AND is_default_billing = 1',
      )
        .bind(who.id)
        .all<{ id: string }>()
    ).results.map((r) => r.id);
    expect(defaults).toHaveLength(1);
    expect(created).toContain(defaults[0]);
  });
});

describe('address list pages', () => {
  const list = async (who: SignedIn, query = '') => {
    const res = await call(`/v1/store/customers/me/addresses${query}`, {
      headers: bearer(who.tokens.access_token),
    });
    return { status: res.status, body: (await res.json()) as { data: { id: string }[]; page: unknown } };
  };

  it('answers everything by default (a page as large as the cap), and pages by cursor, oldest first', async () => {
    const who = await registerCustomer();
    const ids = [(await saveAddress(who)).id, (await saveAddress(who)).id, (await saveAddress(who)).id];
    const all = await list(who);
    expect(all.status).toBe(200);
    expect(all.body.data.map((a) => a.id)).toStrictEqual(ids);
    expect(all.body.page).toStrictEqual({ limit: MAX_ADDRESSES, next_cursor: null });

    const first = await list(who, '?limit=2');
    expect(first.body.data.map((a) => a.id)).toStrictEqual(ids.slice(0, 2));
    const { next_cursor } = first.body.page as { next_cursor: string };
    expect(next_cursor).toStrictEqual(expect.any(String));
    const second = await list(who, `?limit=2&cursor=${next_cursor}`);
    expect(second.body.data.map((a) => a.id)).toStrictEqual(ids.slice(2));
    expect(second.body.page).toStrictEqual({ limit: 2, next_cursor: null });
  });

  it('refuses a bad limit or cursor with 422', async () => {
    const who = await registerCustomer();
    for (const query of ['?limit=0', '?limit=101', '?limit=1e1', '?limit=0x5', '?cursor=not-a-cursor']) {
      const res = await call(`/v1/store/customers/me/addresses${query}`, {
        headers: bearer(who.tokens.access_token),
      });
      expect(res.status).toBe(422);
    }
  });
});
