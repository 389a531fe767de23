import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { toBase64Url } from '../../src/lib/encoding';
import { seedRegions } from '../helpers/catalog-fixtures';
import { writeLandsBeforeBatch } from '../helpers/concurrent-write';
import {
  INVALID_CREDENTIALS,
  mailTo,
  PASSWORD,
  registerCustomer,
  signIn,
  tokenMailed,
} from '../helpers/customers';
import { mailSentAfter } from '../helpers/events';
import { bearer, call, jsonInit, post, problemOf, randomIp } from '../helpers/http';
import { uniqueEmail } from '../helpers/unique';

beforeAll(seedRegions);

const invalidLink = {
  type: 'https://edgecart.dev/problems/invalid_token',
  title: 'Bad Request',
  status: 400,
  detail: 'The link is invalid, expired or already used.',
  code: 'invalid_token',
  request_id: expect.any(String),
};
const NEW_PASSWORD = 'a brand new passphrase';
/** `password` hashed as an older version stored it: PBKDF2 at 1,000 iterations, which a sign-in upgrades. */
async function olderHash(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const material = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, [
    'deriveBits',
  ]);
  const params = { name: 'PBKDF2', hash: 'SHA-256', iterations: 1000, salt };
  const hash = new Uint8Array(await crypto.subtle.deriveBits(params, material, 256));
  return `pbkdf2-sha256$v1$1000$${toBase64Url(salt)}$${toBase64Url(hash)}`;
}

const customerRow = (id: string) =>
  env.DB.prepare('SELECT email_verified_at, password_hash FROM customers WHERE id = ?').bind(id).first();

/** Moves every unused token of the customer past its expiry, as if its lifetime had run out. */
const expireTokens = (customerId: string) =>
  env.DB.prepare('UPDATE one_time_tokens SET expires_at = ? WHERE principal_id = ?')
    .bind(Date.now() - 1000, customerId)
    .run();

async function resetToken(email: string): Promise<string> {
  const res = await post('/v1/auth/customers/password-reset/request', { email });
  expect(res.status).toBe(202);
  await mailSentAfter(res);
  return tokenMailed(email, 'reset');
}

async function verificationToken(who: { email: string; requestId: string }): Promise<string> {
  await mailSentAfter(who.requestId);
  return tokenMailed(who.email, 'verification');
}

describe('email verification', () => {
  it('verifies once; the same link again is a 400', async () => {
    const who = await registerCustomer();
    const token = await verificationToken(who);
    expect(
      await env.DB.prepare(
        'SELECT purpose, expires_at - created_at AS lifetime FROM one_time_tokens WHERE principal_id = ?',
      )
        .bind(who.id)
        .first(),
    ).toStrictEqual({ purpose: 'email_verification', lifetime: expect.closeTo(24 * 3600 * 1000, -3) });
    expect((await post('/v1/auth/customers/verify-email', { token })).status).toBe(204);
    const me = (await (
      await call('/v1/store/customers/me', { headers: bearer(who.tokens.access_token) })
    ).json()) as {
      email_verified: boolean;
    };
    expect(me.email_verified).toBe(true);

    const verifiedAt = await customerRow(who.id);
    const replay = await post('/v1/auth/customers/verify-email', { token });
    expect(replay.status).toBe(400);
    expect(await problemOf(replay)).toStrictEqual(invalidLink);
    expect(await customerRow(who.id)).toStrictEqual(verifiedAt);
  });

  it('refuses an expired link and verifies nothing', async () => {
    const who = await registerCustomer();
    const token = await verificationToken(who);
    await expireTokens(who.id);
    const res = await post('/v1/auth/customers/verify-email', { token });
    expect(res.status).toBe(400);
    expect(await problemOf(res)).toStrictEqual(invalidLink);
    expect(await customerRow(who.id)).toMatchObject({ email_verified_at: null });
  });
});

describe('password reset', () => {
  it('answers 202 for unknown emails too, and sends nothing', async () => {
    const email = uniqueEmail('nobody');
    const res = await post('/v1/auth/customers/password-reset/request', { email });
    expect(res.status).toBe(202);
    expect(await res.json()).toStrictEqual({ status: 'accepted' });
    // The email consumer has handled the request's event, and mailed nothing.
    await mailSentAfter(res);
    expect(await mailTo(email)).toStrictEqual([]);
  });

  it('resets once, signs out every session, and refuses the same link again', async () => {
    const who = await registerCustomer();
    const token = await resetToken(who.email);
    expect(
      await env.DB.prepare(
        "SELECT expires_at - created_at AS lifetime FROM one_time_tokens WHERE principal_id = ? AND purpose = 'password_reset'",
      )
        .bind(who.id)
        .first(),
    ).toStrictEqual({ lifetime: expect.closeTo(3600 * 1000, -3) });
    const reset = await post('/v1/auth/customers/password-reset/confirm', { token, password: NEW_PASSWORD });
    expect(reset.status).toBe(204);
    expect(
      await env.DB.prepare('SELECT revoked_reason FROM sessions WHERE principal_id = ?').bind(who.id).first(),
    ).toStrictEqual({ revoked_reason: 'password_changed' });
    expect((await call('/v1/store/customers/me', { headers: bearer(who.tokens.access_token) })).status).toBe(
      401,
    );
    expect((await signIn(who.email)).status).toBe(401);
    expect((await signIn(who.email, NEW_PASSWORD)).status).toBe(200);

    const hash = await customerRow(who.id);
    const replay = await post('/v1/auth/customers/password-reset/confirm', {
      token,
      password: 'yet another passphrase',
    });
    expect(replay.status).toBe(400);
    expect(await problemOf(replay)).toStrictEqual(invalidLink);
    expect(await customerRow(who.id)).toStrictEqual(hash);
  });

  /**
   * Signs `who` in with PASSWORD while the owner resets the password to `newPassword` after the sign-in checked the
   * old one, before the sign-in's own writes (the reset "signs out every session", docs/AUTH.md).
   */
  async function signInOvertakenByReset(who: { email: string }, newPassword: string): Promise<Response> {
    const requested = await post('/v1/auth/customers/password-reset/request', { email: who.email });
    expect(requested.status).toBe(202);
    await mailSentAfter(requested);
    const token = await tokenMailed(who.email, 'reset');
    const reset = () =>
      post('/v1/auth/customers/password-reset/confirm', { token, password: newPassword }).then((res) =>
        expect(res.status).toBe(204),
      );
    const ctx = createExecutionContext();
    const login = await createApp().request(
      '/v1/auth/customers/login',
      jsonInit('POST', { email: who.email, password: PASSWORD }, { 'CF-Connecting-IP': randomIp() }),
      writeLandsBeforeBatch('login_failures', reset),
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return login;
  }
  const activeSessions = async (customerId: string) =>
    (
      await env.DB.prepare(
        "SELECT count(*) AS n FROM sessions WHERE principal_type = 'customer' AND principal_id = ? AND revoked_at IS NULL",
      )
        .bind(customerId)
        .first<{ n: number }>()
    )?.n;

  it('refuses a sign-in with the old password that a reset overtakes: 401, no session', async () => {
    const who = await registerCustomer();
    const login = await signInOvertakenByReset(who, NEW_PASSWORD);
    // As a sign-in with the old password after the reset is answered.
    expect(login.status).toBe(401);
    expect(await problemOf(login)).toStrictEqual(INVALID_CREDENTIALS);
    expect(await activeSessions(who.id)).toBe(0);
    expect((await signIn(who.email, NEW_PASSWORD)).status).toBe(200);
  });

  it('keeps the reset password when the overtaken sign-in had an older hash to upgrade', async () => {
    const who = await registerCustomer();
    // The account's hash is of an older, weaker format, which a sign-in upgrades.
    await env.DB.prepare('UPDATE customers SET password_hash = ? WHERE id = ?')
      .bind(await olderHash(PASSWORD), who.id)
      .run();
    const login = await signInOvertakenByReset(who, NEW_PASSWORD);
    expect(login.status).toBe(401);
    expect(await activeSessions(who.id)).toBe(0);
    // The upgrade did not write the old password back over the new one.
    expect((await signIn(who.email, PASSWORD)).status).toBe(401);
    expect((await signIn(who.email, NEW_PASSWORD)).status).toBe(200);
  });

  it('two sign-ins with the right password at once, on an account whose hash is upgraded: both get a session', async () => {
    const who = await registerCustomer();
    await env.DB.prepare('UPDATE customers SET password_hash = ? WHERE id = ?')
      .bind(await olderHash(PASSWORD), who.id)
      .run();
    // The other sign-in (a second tab, a double submit) lands after this one verified the old hash: it upgrades
    // the hash to a new one of the same password and signs in.
    let other: Response | undefined;
    const ctx = createExecutionContext();
    const login = await createApp().request(
      '/v1/auth/customers/login',
      jsonInit('POST', { email: who.email, password: PASSWORD }, { 'CF-Connecting-IP': randomIp() }),
      writeLandsBeforeBatch('login_failures', async () => {
        other = await signIn(who.email, PASSWORD);
      }),
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(other?.status).toBe(200);
    // The password is right and nothing about the account changed but the format of its hash.
    expect(login.status, await login.clone().text()).toBe(200);
  });

  it('an erasure proven with the old password that straddles a password reset erases nothing (401)', async () => {
    const who = await registerCustomer();
    const requested = await post('/v1/auth/customers/password-reset/request', { email: who.email });
    expect(requested.status).toBe(202);
    await mailSentAfter(requested);
    const token = await tokenMailed(who.email, 'reset');
    // The owner resets the password (a leak) while someone holding the old one and a token erases the account.
    const reset = async () =>
      expect(
        (await post('/v1/auth/customers/password-reset/confirm', { token, password: NEW_PASSWORD })).status,
      ).toBe(204);
    const ctx = createExecutionContext();
    const erased = await createApp().request(
      '/v1/store/customers/me',
      jsonInit('DELETE', { password: PASSWORD }, bearer(who.tokens.access_token)),
      writeLandsBeforeBatch('customer_addresses', reset),
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(erased.status).toBe(401);
    expect((await problemOf(erased)).code).toBe('reauthentication_required');
    expect(
      await env.DB.prepare('SELECT email, deleted_at FROM customers WHERE id = ?').bind(who.id).first(),
    ).toStrictEqual({ email: who.email.toLowerCase(), deleted_at: null });
    expect((await signIn(who.email, NEW_PASSWORD)).status).toBe(200);
  });

  it('uses up every other reset link of the account once one is used', async () => {
    const who = await registerCustomer();
    const older = await resetToken(who.email);
    const newer = await resetToken(who.email);
    expect(older).not.toBe(newer);
    expect(
      (await post('/v1/auth/customers/password-reset/confirm', { token: newer, password: NEW_PASSWORD }))
        .status,
    ).toBe(204);
    const res = await post('/v1/auth/customers/password-reset/confirm', {
      token: older,
      password: 'an attacker’s passphrase',
    });
    expect(res.status).toBe(400);
    expect((await signIn(who.email, NEW_PASSWORD)).status).toBe(200);
  });

  it('refuses an expired link and changes nothing', async () => {
    const who = await registerCustomer();
    const token = await resetToken(who.email);
    await expireTokens(who.id);
    const before = await customerRow(who.id);
    const res = await post('/v1/auth/customers/password-reset/confirm', { token, password: NEW_PASSWORD });
    expect(res.status).toBe(400);
    expect(await problemOf(res)).toStrictEqual(invalidLink);
    expect(await customerRow(who.id)).toStrictEqual(before);
    expect((await call('/v1/store/customers/me', { headers: bearer(who.tokens.access_token) })).status).toBe(
      200,
    );
  });

  it('does not take a verification token for a reset', async () => {
    const who = await registerCustomer();
    const verification = await verificationToken(who);
    const res = await post('/v1/auth/customers/password-reset/confirm', {
      token: verification,
      password: NEW_PASSWORD,
    });
    expect(res.status).toBe(400);
    expect((await signIn(who.email, NEW_PASSWORD)).status).toBe(401);
  });
});
