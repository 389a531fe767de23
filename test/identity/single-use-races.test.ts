/**
 * Every single-use customer credential, presented twice at the same moment (Promise.all through the Worker):
 * exactly one request succeeds and storage shows one use. Plus the time boundaries of refresh.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedRegions } from '../helpers/catalog-fixtures';
import { registerCustomer, signIn, type Tokens, tokenMailed } from '../helpers/customers';
import { mailSentAfter } from '../helpers/events';
import { post, problemOf } from '../helpers/http';

beforeAll(seedRegions);

const statuses = (responses: Response[]) => responses.map((r) => r.status).sort();

describe('concurrent use of one single-use credential', () => {
  it('the same refresh token twice: exactly one rotation succeeds and one new token is issued', async () => {
    const who = await registerCustomer();
    const twice = await Promise.all([
      post('/v1/auth/customers/refresh', { refresh_token: who.tokens.refresh_token }),
      post('/v1/auth/customers/refresh', { refresh_token: who.tokens.refresh_token }),
    ]);
    expect(statuses(twice)).toStrictEqual([200, 401]);
    const loser = twice.find((r) => r.status === 401) as Response;
    expect((await problemOf(loser)).code).toBe('refresh_token_reused');
    const tokens = await env.DB.prepare(
      'SELECT COUNT(*) AS issued, SUM(t.used_at IS NOT NULL) AS used FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE s.principal_id = ?',
    )
      .bind(who.id)
      .first();
    // The registration's token (used once) and the winner's new one.
    expect(tokens).toStrictEqual({ issued: 2, used: 1 });
  });

  it('the same email verification link twice: one 204, one 400, verified once', async () => {
    const who = await registerCustomer();
    await mailSentAfter(who.requestId);
    const token = await tokenMailed(who.email, 'verification');
    const twice = await Promise.all([
      post('/v1/auth/customers/verify-email', { token }),
      post('/v1/auth/customers/verify-email', { token }),
    ]);
    expect(statuses(twice)).toStrictEqual([204, 400]);
    expect(
      await env.DB.prepare(
        "SELECT COUNT(*) AS n FROM one_time_tokens WHERE principal_id = ? AND purpose = 'email_verification' AND used_at IS NOT NULL",
      )
        .bind(who.id)
        .first(),
    ).toStrictEqual({ n: 1 });
  });

  it('the same password reset link twice, with two passwords: exactly one is set', async () => {
    const who = await registerCustomer();
    const requested = await post('/v1/auth/customers/password-reset/request', { email: who.email });
    expect(requested.status).toBe(202);
    await mailSentAfter(requested);
    const token = await tokenMailed(who.email, 'reset');
    const passwords = ['first new passphrase', 'second new passphrase'];
    const twice = await Promise.all(
      passwords.map((password) => post('/v1/auth/customers/password-reset/confirm', { token, password })),
    );
    expect(statuses(twice)).toStrictEqual([204, 400]);
    const winner = passwords[twice.findIndex((r) => r.status === 204)] as string;
    const loser = passwords.find((p) => p !== winner) as string;
    expect((await signIn(who.email, winner)).status).toBe(200);
    expect((await signIn(who.email, loser)).status).toBe(401);
  });
});

describe('refresh at the time boundaries', () => {
  const refresh = (token: string) => post('/v1/auth/customers/refresh', { refresh_token: token });
  const expiredProblem = {
    type: 'https://edgecart.dev/problems/invalid_refresh_token',
    title: 'Unauthorized',
    status: 401,
    detail: 'The session has expired.',
    code: 'invalid_refresh_token',
    request_id: expect.any(String),
  };
  const tokenState = (customerId: string) =>
    env.DB.prepare(
      'SELECT t.used_at, s.revoked_at FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE s.principal_id = ?',
    )
      .bind(customerId)
      .first();

  it('refuses a refresh token that expired a minute ago, and accepts one valid for another minute', async () => {
    const who = await registerCustomer();
    const setExpiry = (ms: number) =>
      env.DB.prepare(
        'UPDATE refresh_tokens SET expires_at = ? WHERE session_id IN (SELECT id FROM sessions WHERE principal_id = ?)',
      )
        .bind(ms, who.id)
        .run();
    await setExpiry(Date.now() - 60_000);
    const expired = await refresh(who.tokens.refresh_token);
    expect(expired.status).toBe(401);
    expect(await problemOf(expired)).toStrictEqual(expiredProblem);
    expect(await tokenState(who.id)).toStrictEqual({ used_at: null, revoked_at: null });

    await setExpiry(Date.now() + 60_000);
    const res = await refresh(who.tokens.refresh_token);
    expect(res.status).toBe(200);
    expect((await res.json()) as Tokens).toMatchObject({ token_type: 'Bearer' });
  });

  it('refuses a live refresh token of a session that expired a minute ago', async () => {
    const who = await registerCustomer();
    await env.DB.prepare('UPDATE sessions SET expires_at = ? WHERE principal_id = ?')
      .bind(Date.now() - 60_000, who.id)
      .run();
    const res = await refresh(who.tokens.refresh_token);
    expect(res.status).toBe(401);
    expect(await problemOf(res)).toStrictEqual(expiredProblem);
    expect(await tokenState(who.id)).toStrictEqual({ used_at: null, revoked_at: null });
  });
});
