import { env } from 'cloudflare:workers';
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../../src/lib/db';
import { ERASURE_SIGN_IN_WINDOW_MS } from '../../src/modules/customers/account-service';
import { MAX_ACTIVE_SESSIONS, startSession } from '../../src/modules/sessions/service';
import { seedRegions } from '../helpers/catalog-fixtures';
import {
  TEST_ADDRESS as address,
  INVALID_CREDENTIALS,
  PASSWORD,
  registerCustomer,
  saveAddress,
  withAuth,
} from '../helpers/customers';
import { bearer, call, expectProblem, jsonInit, post, problemOf } from '../helpers/http';
import { uniqueEmail } from '../helpers/unique';

beforeAll(seedRegions);

async function signInTokens(email: string) {
  const res = await post('/v1/auth/customers/login', { email, password: PASSWORD });
  expect(res.status).toBe(200);
  return ((await res.json()) as { tokens: { access_token: string } }).tokens;
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

describe('the customer’s locale', () => {
  // Well-formed tags (no variant twice), at the catalog's bound of 35 characters and one past it.
  const longest = 'en-abcdefgh-bcdefghi-cdefghij-defgh';
  const tooLong = `${longest}f`;

  it('takes a tag of up to 35 characters, as the catalog does', async () => {
    expect(longest).toHaveLength(35);
    const who = await registerCustomer({ locale: longest });
    const me = await call('/v1/store/customers/me', { headers: bearer(who.tokens.access_token) });
    expect(((await me.json()) as { locale: string }).locale).toBe(longest);
  });

  it('refuses a longer one with 422 at registration and in a change, storing nothing', async () => {
    const email = uniqueEmail();
    const registered = await post('/v1/auth/customers/register', {
      email,
      password: PASSWORD,
      locale: tooLong,
    });
    await expectProblem(registered, 422, 'validation_failed', [
      { pointer: '/body/locale', message: expect.any(String) },
    ]);
    expect(await env.DB.prepare('SELECT id FROM customers WHERE email = ?').bind(email).first()).toBeNull();

    const who = await registerCustomer();
    const before = await env.DB.prepare('SELECT * FROM customers WHERE id = ?').bind(who.id).first();
    const changed = await call('/v1/store/customers/me', withAuth(who, 'PATCH', { locale: tooLong }));
    await expectProblem(changed, 422, 'validation_failed', [
      { pointer: '/body/locale', message: expect.any(String) },
    ]);
    expect(await env.DB.prepare('SELECT * FROM customers WHERE id = ?').bind(who.id).first()).toStrictEqual(
      before,
    );
  });
});

describe('sessions', () => {
  it('are listed with the current one marked, and can be revoked by their owner only', async () => {
    const who = await registerCustomer();
    const other = await post('/v1/auth/customers/login', { email: who.email, password: PASSWORD });
    const otherTokens = ((await other.json()) as { tokens: { access_token: string } }).tokens;
    const list = (await (
      await call('/v1/store/customers/me/sessions', { headers: bearer(who.tokens.access_token) })
    ).json()) as {
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
          headers: bearer(otherTokens.access_token),
        })
      ).status,
    ).toBe(401);
    expect((await call('/v1/store/customers/me', { headers: bearer(who.tokens.access_token) })).status).toBe(
      200,
    );
  });
});

describe('active sessions are bounded', () => {
  it(`a sign-in beyond ${MAX_ACTIVE_SESSIONS} ends the least recently used session (evicted)`, async () => {
    const who = await registerCustomer();
    const db = createDb(env.DB);
    for (let i = 1; i < MAX_ACTIVE_SESSIONS; i++) {
      await startSession(db, { principalType: 'customer', principalId: who.id });
    }
    // Distinct last uses: the registration's session is the least recently used.
    const own = (
      await env.DB.prepare('SELECT id FROM sessions WHERE principal_id = ? ORDER BY id')
        .bind(who.id)
        .all<{ id: string }>()
    ).results;
    expect(own).toHaveLength(MAX_ACTIVE_SESSIONS);
    await env.DB.batch(
      own.map((s, i) =>
        env.DB.prepare('UPDATE sessions SET last_used_at = ? WHERE id = ?').bind(
          Date.now() - 60_000 + i,
          s.id,
        ),
      ),
    );
    const newest = await startSession(db, { principalType: 'customer', principalId: who.id });
    const states = (
      await env.DB.prepare('SELECT id, revoked_reason FROM sessions WHERE principal_id = ? ORDER BY id')
        .bind(who.id)
        .all<{ id: string; revoked_reason: string | null }>()
    ).results;
    expect(states.filter((s) => s.revoked_reason !== null)).toStrictEqual([
      { id: own[0]?.id, revoked_reason: 'evicted' },
    ]);
    expect(states.map((s) => s.id)).toContain(newest.sessionId);
    // The evicted session's tokens stop working; the list holds the cap.
    expect((await call('/v1/store/customers/me', { headers: bearer(who.tokens.access_token) })).status).toBe(
      401,
    );
    const list = await call('/v1/store/customers/me/sessions', {
      headers: bearer((await signInTokens(who.email)).access_token),
    });
    expect(((await list.json()) as { data: unknown[] }).data).toHaveLength(MAX_ACTIVE_SESSIONS);
  });
});

describe('export and erasure', () => {
  it('exports everything stored about the customer, decrypted', async () => {
    const who = await registerCustomer({ first_name: 'Ada' });
    const saved = await saveAddress(who);
    await env.DB.prepare('INSERT INTO external_identities (issuer, subject, customer_id) VALUES (?, ?, ?)')
      .bind('https://idp.test', 'sub-export', who.id)
      .run();
    const res = await call('/v1/store/customers/me/export', { headers: bearer(who.tokens.access_token) });
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(await res.json()).toStrictEqual({
      exported_at: expect.any(String),
      customer: {
        id: who.id,
        email: who.email,
        email_verified: false,
        first_name: 'Ada',
        last_name: null,
        phone: null,
        locale: null,
        created_at: expect.any(String),
      },
      addresses: [
        {
          ...address,
          id: saved.id,
          company: null,
          line2: null,
          province: null,
          is_default_shipping: false,
          is_default_billing: false,
          created_at: expect.any(String),
        },
      ],
      sessions: [
        {
          id: expect.stringMatching(/^ses_/),
          user_agent: null,
          created_at: expect.any(String),
          last_used_at: expect.any(String),
        },
      ],
      external_identities: [
        { issuer: 'https://idp.test', subject: 'sub-export', linked_at: expect.any(String) },
      ],
    });
  });

  it('erases personal data, signs out everywhere, unlinks external logins and keeps the row for orders', async () => {
    const who = await registerCustomer({ first_name: 'Ada', last_name: 'Lovelace' });
    await call('/v1/store/customers/me', withAuth(who, 'PATCH', { phone: '+49 30 1234567' }));
    await saveAddress(who);
    const second = await post(
      '/v1/auth/customers/login',
      { email: who.email, password: PASSWORD },
      {
        'User-Agent': 'Phone browser',
      },
    );
    expect(second.status).toBe(200);
    await post('/v1/auth/customers/password-reset/request', { email: who.email });
    await env.DB.prepare('INSERT INTO external_identities (issuer, subject, customer_id) VALUES (?, ?, ?)')
      .bind('https://idp.test', `sub-${who.id}`, who.id)
      .run();

    expect(
      (await call('/v1/store/customers/me', withAuth(who, 'DELETE', { password: PASSWORD }))).status,
    ).toBe(204);

    const row = await env.DB.prepare(
      'SELECT id, email, email_verified_at, password_hash, first_name, last_name, phone_encrypted, locale, deleted_at FROM customers WHERE id = ?',
    )
      .bind(who.id)
      .first();
    expect(row).toStrictEqual({
      id: who.id,
      email: null,
      email_verified_at: null,
      password_hash: null,
      first_name: null,
      last_name: null,
      phone_encrypted: null,
      locale: null,
      deleted_at: expect.any(Number),
    });
    const remaining = async (table: string, column: string) =>
      (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${column} = ?`).bind(who.id).first())
        ?.n;
    expect(await remaining('customer_addresses', 'customer_id')).toBe(0);
    expect(await remaining('external_identities', 'customer_id')).toBe(0);
    expect(await remaining('one_time_tokens', 'principal_id')).toBe(0);
    const sessions = await env.DB.prepare(
      'SELECT revoked_reason, user_agent FROM sessions WHERE principal_id = ? ORDER BY id',
    )
      .bind(who.id)
      .all();
    expect(sessions.results).toStrictEqual([
      { revoked_reason: 'erased', user_agent: null },
      { revoked_reason: 'erased', user_agent: null },
    ]);
    expect((await call('/v1/store/customers/me', { headers: bearer(who.tokens.access_token) })).status).toBe(
      401,
    );
    expect(
      (await post('/v1/auth/customers/refresh', { refresh_token: who.tokens.refresh_token })).status,
    ).toBe(401);
    expect((await post('/v1/auth/customers/login', { email: who.email, password: PASSWORD })).status).toBe(
      401,
    );
    // The email is free again.
    expect((await post('/v1/auth/customers/register', { email: who.email, password: PASSWORD })).status).toBe(
      201,
    );
  });

  describe('needs a fresh proof of the owner', () => {
    const snapshot = async (id: string) => ({
      customer: await env.DB.prepare('SELECT * FROM customers WHERE id = ?').bind(id).first(),
      addresses: await env.DB.prepare('SELECT COUNT(*) AS n FROM customer_addresses WHERE customer_id = ?')
        .bind(id)
        .first(),
      sessions: (
        await env.DB.prepare('SELECT id, revoked_at FROM sessions WHERE principal_id = ? ORDER BY id')
          .bind(id)
          .all()
      ).results,
      events: await env.DB.prepare(
        "SELECT COUNT(*) AS n FROM outbox_events WHERE aggregate_id = ? AND type = 'customer.deleted'",
      )
        .bind(id)
        .first(),
    });
    const erase = (who: { tokens: { access_token: string } }, body?: unknown) =>
      call(
        '/v1/store/customers/me',
        body === undefined
          ? { method: 'DELETE', headers: bearer(who.tokens.access_token) }
          : { ...jsonInit('DELETE', body, bearer(who.tokens.access_token)) },
      );
    const reauthProblem = (detail: string) => ({
      type: 'https://edgecart.dev/problems/reauthentication_required',
      title: 'Unauthorized',
      status: 401,
      detail,
      code: 'reauthentication_required',
      request_id: expect.any(String),
    });

    it('refuses an access token alone, and a wrong password, changing nothing', async () => {
      const who = await registerCustomer();
      await saveAddress(who);
      const before = await snapshot(who.id);

      const bare = await erase(who);
      expect(bare.status).toBe(401);
      expect(bare.headers.get('WWW-Authenticate')).toBe(
        'Bearer realm="edgecart", error="insufficient_user_authentication"',
      );
      expect(await problemOf(bare)).toStrictEqual(
        reauthProblem('Send the current password to erase the account.'),
      );
      expect((await problemOf(await erase(who, {}))).code).toBe('reauthentication_required');

      const wrong = await erase(who, { password: 'not the password' });
      expect(wrong.status).toBe(401);
      expect(await problemOf(wrong)).toStrictEqual(INVALID_CREDENTIALS);
      expect(await snapshot(who.id)).toStrictEqual(before);
    });

    it('accepts an account without a password only from a session signed in within the last 10 minutes', async () => {
      const who = await registerCustomer();
      // An account that signs in only with an external provider has no password.
      await env.DB.prepare('UPDATE customers SET password_hash = NULL WHERE id = ?').bind(who.id).run();
      const sid = decodeJwt(who.tokens.access_token).sid as string;
      await env.DB.prepare('UPDATE sessions SET created_at = ? WHERE id = ?')
        .bind(Date.now() - ERASURE_SIGN_IN_WINDOW_MS - 60_000, sid)
        .run();
      const before = await snapshot(who.id);
      const stale = await erase(who);
      expect(stale.status).toBe(401);
      expect(await problemOf(stale)).toStrictEqual(
        reauthProblem('Sign in again, then erase the account within 10 minutes.'),
      );
      expect(await snapshot(who.id)).toStrictEqual(before);

      await env.DB.prepare('UPDATE sessions SET created_at = ? WHERE id = ?')
        .bind(Date.now() - ERASURE_SIGN_IN_WINDOW_MS + 60_000, sid)
        .run();
      expect((await erase(who)).status).toBe(204);
      expect(
        await env.DB.prepare('SELECT email, deleted_at IS NOT NULL AS erased FROM customers WHERE id = ?')
          .bind(who.id)
          .first(),
      ).toStrictEqual({ email: null, erased: 1 });
    });
  });
});
