import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { decryptField } from '../../src/lib/encryption';
import { seedRegions } from '../helpers/catalog-fixtures';
import { TEST_ADDRESS as address, registerCustomer, saveAddress, withAuth } from '../helpers/customers';
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
