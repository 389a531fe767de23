/** External OpenID Connect sign-in: who an ID token signs in as (creating and linking accounts). */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { addLine, createCart, patchCart, stockedProduct } from '../helpers/carts';
import { seedRegions } from '../helpers/catalog-fixtures';
import { checkoutCall, SHIPPING_ADDRESS, shippingOption } from '../helpers/checkout';
import { writeLandsBeforeBatch } from '../helpers/concurrent-write';
import { PASSWORD, registerCustomer, signIn } from '../helpers/customers';
import { bearer, call, expectProblem, jsonInit, post, problemOf, randomIp } from '../helpers/http';
import { configureProvider, FakeIssuer, newSubject, serveIssuers } from '../helpers/oidc';
import { uniqueEmail } from '../helpers/unique';

const issuer = new FakeIssuer('https://accounts.idp.test');
let providerId = '';

beforeAll(async () => {
  await seedRegions();
  await issuer.rotate();
  providerId = await configureProvider(issuer);
});
serveIssuers(issuer);

type AuthBody = {
  customer: { id: string; email: string | null; email_verified: boolean };
  tokens: { access_token: string };
};

const oidc = (body: Record<string, unknown>) => post('/v1/auth/customers/oidc', body);
const signInWith = (idToken: string, provider = providerId) => oidc({ provider, id_token: idToken });
const customerRow = (id: string) =>
  env.DB.prepare('SELECT email, email_verified_at, password_hash FROM customers WHERE id = ?')
    .bind(id)
    .first();
const identities = (customerId: string) =>
  env.DB.prepare('SELECT issuer, subject FROM external_identities WHERE customer_id = ?')
    .bind(customerId)
    .all();
const count = async (table: string) =>
  (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())?.n;

describe('first sign-in', () => {
  it('creates a customer with the verified email and answers edgecart tokens', async () => {
    const email = uniqueEmail('oidc');
    const subject = newSubject();
    const res = await signInWith(
      await issuer.idToken({
        sub: subject,
        email: email.toUpperCase(),
        email_verified: true,
        given_name: 'Ada',
      }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const body = (await res.json()) as AuthBody;
    expect(body).toStrictEqual({
      customer: {
        id: expect.stringMatching(/^cus_/),
        email,
        email_verified: true,
        first_name: 'Ada',
        last_name: null,
        phone: null,
        locale: null,
        created_at: expect.any(String),
      },
      tokens: {
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 900,
        refresh_token: expect.stringMatching(/^rt_/),
      },
    });
    expect((await identities(body.customer.id)).results).toStrictEqual([{ issuer: issuer.issuer, subject }]);
    expect(
      (
        await call('/v1/store/customers/me', {
          headers: bearer(body.tokens.access_token),
        })
      ).status,
    ).toBe(200);
  });

  it('stores the provider’s names cut to 100 characters between characters, and no name that holds half of one', async () => {
    const given = `${'a'.repeat(99)}😀b`; // the cut at 100 code units falls inside the emoji
    const family = 'Love\ud83d'; // a JSON claim can escape half of a character
    const res = await signInWith(
      await issuer.idToken({ sub: newSubject(), given_name: given, family_name: family }),
    );
    expect(res.status).toBe(200);
    const { customer } = (await res.json()) as AuthBody & { customer: { first_name: string | null } };
    const row = await env.DB.prepare('SELECT first_name, last_name FROM customers WHERE id = ?')
      .bind(customer.id)
      .first<{ first_name: string | null; last_name: string | null }>();
    // Checked first: vitest cannot report a string that holds half a character.
    expect(customer.first_name?.isWellFormed()).toBe(true);
    expect(row).toStrictEqual({ first_name: 'a'.repeat(99), last_name: null });
    expect(customer).toMatchObject({ first_name: 'a'.repeat(99), last_name: null });
  });

  it('does not store an email the provider has not verified', async () => {
    const res = await signInWith(
      await issuer.idToken({ sub: newSubject(), email: uniqueEmail(), email_verified: false }),
    );
    expect(res.status).toBe(200);
    expect((await res.json()) as AuthBody).toMatchObject({
      customer: { email: null, email_verified: false },
    });
  });

  it('accepts the provider by issuer URL as well as by id, and checks the nonce when one is sent', async () => {
    const subject = newSubject();
    const withNonce = await issuer.idToken({ sub: subject, nonce: 'n-123' });
    expect((await oidc({ provider: issuer.issuer, id_token: withNonce, nonce: 'n-123' })).status).toBe(200);
    const before = await count('external_identities');
    const replayed = await oidc({
      provider: issuer.issuer,
      id_token: await issuer.idToken({ sub: newSubject(), nonce: 'n-123' }),
      nonce: 'n-other',
    });
    expect(replayed.status).toBe(401);
    expect(await problemOf(replayed)).toMatchObject({
      code: 'invalid_id_token',
      detail: 'The ID token was issued for another sign-in attempt.',
    });
    expect(await count('external_identities')).toBe(before);
  });
});

describe('linking', () => {
  it('signs the same (issuer, sub) into the same customer again', async () => {
    const subject = newSubject();
    const first = (await (await signInWith(await issuer.idToken({ sub: subject }))).json()) as AuthBody;
    const second = (await (await signInWith(await issuer.idToken({ sub: subject }))).json()) as AuthBody;
    expect(second.customer.id).toBe(first.customer.id);
    expect((await identities(first.customer.id)).results).toHaveLength(1);
  });

  it('links concurrent first sign-ins of one identity to one customer', async () => {
    const token = await issuer.idToken({ sub: newSubject() });
    const results = await Promise.all([signInWith(token), signInWith(token), signInWith(token)]);
    expect(results.map((r) => r.status)).toStrictEqual([200, 200, 200]);
    const ids = await Promise.all(results.map(async (r) => ((await r.json()) as AuthBody).customer.id));
    expect(new Set(ids).size).toBe(1);
    expect((await identities(ids[0] as string)).results).toHaveLength(1);
  });

  it('links an account whose email is verified by a verified email, keeping its password', async () => {
    const who = await registerCustomer();
    await env.DB.prepare('UPDATE customers SET email_verified_at = ? WHERE id = ?')
      .bind(Date.now(), who.id)
      .run();
    const res = await signInWith(
      await issuer.idToken({ sub: newSubject(), email: who.email, email_verified: true }),
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as AuthBody).customer.id).toBe(who.id);
    expect((await signIn(who.email)).status).toBe(200);
    expect((await call('/v1/store/customers/me', { headers: bearer(who.tokens.access_token) })).status).toBe(
      200,
    );
  });

  it('gives an account registered with an unproven email to the provider-verified owner, ending the squatter’s access', async () => {
    // Someone registered the address first, with their own password, and never verified it.
    const squatter = await registerCustomer();
    const res = await signInWith(
      await issuer.idToken({ sub: newSubject(), email: squatter.email, email_verified: true }),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as AuthBody;
    expect(body.customer).toMatchObject({ id: squatter.id, email_verified: true });
    expect(await customerRow(squatter.id)).toStrictEqual({
      email: squatter.email,
      email_verified_at: expect.any(Number),
      password_hash: null,
    });
    expect(
      (await call('/v1/store/customers/me', { headers: bearer(squatter.tokens.access_token) })).status,
    ).toBe(401);
    expect((await signIn(squatter.email)).status).toBe(401);
    expect(
      (await post('/v1/auth/customers/refresh', { refresh_token: squatter.tokens.refresh_token })).status,
    ).toBe(401);
    expect(
      (
        await call('/v1/store/customers/me', {
          headers: bearer(body.tokens.access_token),
        })
      ).status,
    ).toBe(200);
  });

  it('refuses the squatter’s password sign-in that the owner’s takeover overtakes: 401, no session', async () => {
    const squatter = await registerCustomer();
    // The provider-verified owner signs in after the squatter's password was checked, before its session is
    // written: the takeover drops the password and every session (above), this one included.
    let owner: AuthBody | undefined;
    const idToken = await issuer.idToken({ sub: newSubject(), email: squatter.email, email_verified: true });
    const takeOver = async () => {
      const res = await signInWith(idToken);
      expect(res.status).toBe(200);
      owner = (await res.json()) as AuthBody;
    };
    const ctx = createExecutionContext();
    const login = await createApp().request(
      '/v1/auth/customers/login',
      jsonInit('POST', { email: squatter.email, password: PASSWORD }, { 'CF-Connecting-IP': randomIp() }),
      writeLandsBeforeBatch('login_failures', takeOver),
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(login.status).toBe(401);
    expect((await problemOf(login)).code).toBe('invalid_credentials');
    // The owner's is the account's one active session.
    const active = await env.DB.prepare(
      "SELECT count(*) AS n FROM sessions WHERE principal_type = 'customer' AND principal_id = ? AND revoked_at IS NULL",
    )
      .bind(squatter.id)
      .first<{ n: number }>();
    expect(active?.n).toBe(1);
    expect(owner?.customer.id).toBe(squatter.id);
    expect(
      (await call('/v1/store/customers/me', { headers: bearer(owner?.tokens.access_token ?? '') })).status,
    ).toBe(200);
  });

  it('refuses to link an existing account by an unverified email, changing nothing', async () => {
    const who = await registerCustomer();
    const before = [await count('external_identities'), await count('customers'), await customerRow(who.id)];
    const res = await signInWith(
      await issuer.idToken({ sub: newSubject(), email: who.email, email_verified: false }),
    );
    expect(res.status).toBe(409);
    expect(await problemOf(res)).toStrictEqual({
      type: 'https://edgecart.dev/problems/email_not_verified',
      title: 'Conflict',
      status: 409,
      detail:
        'An account with this email exists; sign in with your password, or verify the email with the provider.',
      code: 'email_not_verified',
      request_id: expect.any(String),
    });
    expect([
      await count('external_identities'),
      await count('customers'),
      await customerRow(who.id),
    ]).toStrictEqual(before);
    expect((await signIn(who.email, PASSWORD)).status).toBe(200);
  });
});

describe('providers', () => {
  it('answers an unknown provider with 422', async () => {
    const res = await signInWith(await issuer.idToken({ sub: newSubject() }), 'https://unknown.test');
    expect(res.status).toBe(422);
    expect(await problemOf(res)).toStrictEqual({
      type: 'https://edgecart.dev/problems/unknown_identity_provider',
      title: 'Unprocessable Content',
      status: 422,
      detail: 'That sign-in provider is not configured.',
      code: 'unknown_identity_provider',
      request_id: expect.any(String),
      errors: [{ pointer: '/body/provider', message: 'Use the id or issuer of an enabled provider' }],
    });
  });

  it('answers a disabled provider like an unknown one', async () => {
    const disabled = new FakeIssuer('https://disabled.idp.test');
    await disabled.rotate();
    const id = await configureProvider(disabled, { enabled: false });
    const res = await signInWith(await disabled.idToken({ sub: newSubject() }), id);
    expect(res.status).toBe(422);
    expect((await problemOf(res)).code).toBe('unknown_identity_provider');
    expect(disabled.jwksFetches).toBe(0);
  });
});

describe('a verified email the API’s Email refuses', () => {
  beforeAll(() => shippingOption('eu', { name: 'Standard', amount: 490 }));

  it('is not one on an internationalized domain in its ASCII form (.рф): that one is stored, verified', async () => {
    const email = `ivan.${crypto.randomUUID().slice(0, 6)}@shop.xn--p1ai`;
    const signedIn = await signInWith(
      await issuer.idToken({ sub: newSubject(), email, email_verified: true }),
    );
    expect(signedIn.status).toBe(200);
    const { customer } = (await signedIn.json()) as AuthBody;
    expect(customer).toMatchObject({ email, email_verified: true });
  });

  it('is not stored: the shopper signs in without one and is asked for an email at checkout, never a 500', async () => {
    // A verified address with a quoted local part: valid mail, outside the one rule the API's email follows.
    const email = `"ivan smith".${crypto.randomUUID().slice(0, 6)}@example.com`;
    const signedIn = await signInWith(
      await issuer.idToken({ sub: newSubject(), email, email_verified: true }),
    );
    expect(signedIn.status).toBe(200);
    const { customer, tokens } = (await signedIn.json()) as AuthBody;
    expect(customer).toMatchObject({ email: null, email_verified: false });
    expect(await customerRow(customer.id)).toStrictEqual({
      email: null,
      email_verified_at: null,
      password_hash: null,
    });

    const accessToken = tokens.access_token;
    const product = await stockedProduct({ variants: [{ prices: { EUR: 1190 } }] }, 10);
    const { cart } = await createCart({ region: 'eu' }, { accessToken });
    expect(cart.email).toBeNull();
    await addLine(cart.id, { accessToken }, product.variants[0]?.id as string, 1);
    await patchCart(cart.id, { accessToken }, { shipping_address: SHIPPING_ADDRESS });
    await expectProblem(
      await checkoutCall(cart.id, { accessToken }, crypto.randomUUID()),
      422,
      'email_required',
    );
    // With an address the API takes, the order is placed.
    await patchCart(cart.id, { accessToken }, { email: 'ivan@example.com' });
    const placed = await checkoutCall(cart.id, { accessToken }, crypto.randomUUID());
    expect(placed.status, await placed.clone().text()).toBe(201);
  });
});
