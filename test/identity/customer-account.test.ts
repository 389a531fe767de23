import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedRegions } from '../helpers/catalog-fixtures';
import { bearer, PASSWORD, post, registerCustomer, type SignedIn } from '../helpers/customers';
import { call, problemOf } from '../helpers/http';

beforeAll(seedRegions);

const address = {
  first_name: 'Ada',
  last_name: 'Lovelace',
  line1: 'Unter den Linden 1',
  city: 'Berlin',
  postal_code: '10117',
  country_code: 'DE',
  phone: '+49 30 1234567',
};

async function saveAddress(who: SignedIn, body: Record<string, unknown> = address) {
  const res = await call('/v1/store/customers/me/addresses', withAuth(who, 'POST', body));
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string };
}

function withAuth(who: SignedIn, method: string, body?: unknown) {
  return {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${who.tokens.access_token}` },
  };
}

describe('GET/PATCH /v1/store/customers/me', () => {
  it('reads and updates the profile; the phone is stored encrypted', async () => {
    const who = await registerCustomer();
    const res = await call(
      '/v1/store/customers/me',
      withAuth(who, 'PATCH', { first_name: 'Grace', phone: '+1 555 0100' }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual({
      id: who.id,
      email: who.email,
      email_verified: false,
      first_name: 'Grace',
      last_name: null,
      phone: '+1 555 0100',
      locale: null,
      created_at: expect.any(String),
    });
    const row = await env.DB.prepare('SELECT phone_encrypted FROM customers WHERE id = ?')
      .bind(who.id)
      .first<{ phone_encrypted: string }>();
    expect(row?.phone_encrypted).toMatch(/^v1\./);
    expect(row?.phone_encrypted).not.toContain('555');
  });

  it.each([
    [{ email: 'new@example.com' }, '/body/email'],
    [{ email_verified: true }, '/body/email_verified'],
    [{ id: 'cus_other' }, '/body/id'],
    [{ failed_logins: 0 }, '/body/failed_logins'],
    [{}, '/body'],
  ])('refuses mass assignment %o with 422 and changes nothing', async (body, pointer) => {
    const who = await registerCustomer();
    const before = await env.DB.prepare('SELECT * FROM customers WHERE id = ?').bind(who.id).first();
    const res = await call('/v1/store/customers/me', withAuth(who, 'PATCH', body));
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.map((e) => e.pointer)).toContain(pointer);
    expect(await env.DB.prepare('SELECT * FROM customers WHERE id = ?').bind(who.id).first()).toStrictEqual(
      before,
    );
  });
});

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
    expect(row?.data_encrypted).not.toContain('Linden');
    expect(row?.data_encrypted).not.toContain('Lovelace');

    const second = await saveAddress(who, { ...address, city: 'Hamburg', is_default_shipping: true });
    const list = (await (await call('/v1/store/customers/me/addresses', bearer(who))).json()) as {
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
    const theirs = await saveAddress(owner);
    const before = await env.DB.prepare('SELECT * FROM customer_addresses WHERE id = ?')
      .bind(theirs.id)
      .first();
    for (const [method, body] of [
      ['PATCH', { city: 'Elsewhere' }],
      ['DELETE', undefined],
    ] as const) {
      const res = await call(
        `/v1/store/customers/me/addresses/${theirs.id}`,
        withAuth(intruder, method, body),
      );
      expect(res.status).toBe(404);
      expect((await problemOf(res)).code).toBe('not_found');
    }
    const list = (await (await call('/v1/store/customers/me/addresses', bearer(intruder))).json()) as {
      data: unknown[];
    };
    expect(list.data).toStrictEqual([]);
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

describe('sessions', () => {
  it('are listed with the current one marked, and can be revoked by their owner only', async () => {
    const who = await registerCustomer();
    const other = await post('/v1/auth/customers/login', { email: who.email, password: PASSWORD });
    const otherTokens = ((await other.json()) as { tokens: { access_token: string } }).tokens;
    const list = (await (await call('/v1/store/customers/me/sessions', bearer(who))).json()) as {
      data: { id: string; current: boolean }[];
    };
    expect(list.data).toHaveLength(2);
    const mine = list.data.find((s) => s.current);
    const theirs = list.data.find((s) => !s.current) as { id: string };
    expect(mine).toBeDefined();

    const stranger = await registerCustomer();
    expect(
      (await call(`/v1/store/customers/me/sessions/${theirs.id}`, withAuth(stranger, 'DELETE'))).status,
    ).toBe(404);
    expect((await call(`/v1/store/customers/me/sessions/${theirs.id}`, withAuth(who, 'DELETE'))).status).toBe(
      204,
    );
    expect(
      (
        await call('/v1/store/customers/me', {
          headers: { Authorization: `Bearer ${otherTokens.access_token}` },
        })
      ).status,
    ).toBe(401);
    expect((await call('/v1/store/customers/me', bearer(who))).status).toBe(200);
  });
});

describe('export and erasure', () => {
  it('exports everything stored about the customer', async () => {
    const who = await registerCustomer({ first_name: 'Ada' });
    const saved = await saveAddress(who);
    const res = await call('/v1/store/customers/me/export', bearer(who));
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toStrictEqual({
      exported_at: expect.any(String),
      customer: expect.objectContaining({ id: who.id, email: who.email, first_name: 'Ada' }),
      addresses: [expect.objectContaining({ id: saved.id, line1: address.line1 })],
      sessions: [expect.objectContaining({ id: expect.stringMatching(/^ses_/) })],
      external_identities: [],
    });
  });

  it('erases personal data, signs out everywhere and keeps the row for order history', async () => {
    const who = await registerCustomer({ first_name: 'Ada', last_name: 'Lovelace' });
    await saveAddress(who);
    expect((await call('/v1/store/customers/me', withAuth(who, 'DELETE'))).status).toBe(204);
    const row = await env.DB.prepare(
      'SELECT email, password_hash, first_name, last_name, phone_encrypted, deleted_at FROM customers WHERE id = ?',
    )
      .bind(who.id)
      .first();
    expect(row).toStrictEqual({
      email: null,
      password_hash: null,
      first_name: null,
      last_name: null,
      phone_encrypted: null,
      deleted_at: expect.any(Number),
    });
    expect(
      await env.DB.prepare('SELECT COUNT(*) AS n FROM customer_addresses WHERE customer_id = ?')
        .bind(who.id)
        .first(),
    ).toStrictEqual({ n: 0 });
    expect((await call('/v1/store/customers/me', bearer(who))).status).toBe(401);
    expect((await post('/v1/auth/customers/login', { email: who.email, password: PASSWORD })).status).toBe(
      401,
    );
    // The email is free again.
    expect((await post('/v1/auth/customers/register', { email: who.email, password: PASSWORD })).status).toBe(
      201,
    );
  });
});
