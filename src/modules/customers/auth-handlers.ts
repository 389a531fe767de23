import { eq } from 'drizzle-orm';
import type { Context } from 'hono';
import { customers } from '../../db/schema';
import type { AppEnv } from '../../env';
import { sha256Hex } from '../../lib/crypto';
import { createDb } from '../../lib/db';
import { invalidToken, verifyAccessToken } from '../../lib/jwt';
import { createRouter } from '../../lib/openapi';
import { hashPassword } from '../../lib/password';
import { bearerToken } from '../../middleware/customer-auth';
import { rateLimit } from '../../middleware/rate-limit';
import { sendEmail } from '../email/send';
import { signInWithIdToken } from '../identity-providers/oidc-login';
import { issueTokens } from '../sessions/issue-tokens';
import { revokeAllSessions, revokeSession, rotateRefreshToken } from '../sessions/service';
import * as routes from './auth-routes';
import { authenticateCustomer, registerCustomer } from './auth-service';
import { consumeOneTimeToken, createOneTimeToken } from './one-time-tokens';
import { customerView } from './view';

const limitAccount = (c: Context<AppEnv>, email: string) =>
  rateLimit('AUTH_ACCOUNT_RATE_LIMITER', `customer:${email}`, c);

function link(env: Env, path: string, token: string): string {
  return `${env.PUBLIC_URL}${path}?token=${encodeURIComponent(token)}`;
}

export const customerAuthRouter = createRouter()
  .openapi(routes.register, async (c) => {
    const input = c.req.valid('json');
    await limitAccount(c, input.email);
    const db = createDb(c.env.DB);
    const row = await registerCustomer(db, input);
    const token = await createOneTimeToken(db, 'email_verification', row.id);
    await sendEmail(c.env, c.get('logger'), {
      to: input.email,
      subject: 'Confirm your email address',
      text: `Welcome! Confirm your email address: ${link(c.env, '/account/verify-email', token)}\nToken: ${token}`,
    });
    const tokens = await issueTokens(c, { type: 'customer', id: row.id });
    c.header('Cache-Control', 'no-store');
    return c.json({ customer: await customerView(c.env, row), tokens }, 201);
  })
  .openapi(routes.login, async (c) => {
    const { email, password } = c.req.valid('json');
    await limitAccount(c, email);
    const row = await authenticateCustomer(createDb(c.env.DB), email, password);
    const tokens = await issueTokens(c, { type: 'customer', id: row.id });
    c.header('Cache-Control', 'no-store');
    return c.json({ customer: await customerView(c.env, row), tokens }, 200);
  })
  .openapi(routes.oidcLogin, async (c) => {
    const { provider, id_token } = c.req.valid('json');
    const row = await signInWithIdToken(createDb(c.env.DB), c.env.KV, provider, id_token);
    const tokens = await issueTokens(c, { type: 'customer', id: row.id });
    c.header('Cache-Control', 'no-store');
    return c.json({ customer: await customerView(c.env, row), tokens }, 200);
  })
  .openapi(routes.refresh, async (c) => {
    const { refresh_token } = c.req.valid('json');
    await rateLimit(
      'AUTH_ACCOUNT_RATE_LIMITER',
      `refresh:${(await sha256Hex(refresh_token)).slice(0, 32)}`,
      c,
    );
    const db = createDb(c.env.DB);
    const { session, refreshToken } = await rotateRefreshToken(db, refresh_token);
    if (session.principalType !== 'customer') throw invalidToken('not a customer session');
    const tokens = await issueTokens(
      c,
      { type: 'customer', id: session.principalId },
      { sessionId: session.id, refreshToken },
    );
    c.header('Cache-Control', 'no-store');
    return c.json(tokens, 200);
  })
  .openapi(routes.logout, async (c) => {
    const token = bearerToken(c.req.header('Authorization'));
    if (!token) throw invalidToken('missing token');
    const claims = await verifyAccessToken(c.env, token, 'edgecart:store');
    await revokeSession(createDb(c.env.DB), claims.sid, 'logout');
    return c.body(null, 204);
  })
  .openapi(routes.verifyEmail, async (c) => {
    const db = createDb(c.env.DB);
    const customerId = await consumeOneTimeToken(db, 'email_verification', c.req.valid('json').token);
    await db
      .update(customers)
      .set({ emailVerifiedAt: new Date(), updatedAt: new Date() })
      .where(eq(customers.id, customerId));
    return c.body(null, 204);
  })
  .openapi(routes.requestPasswordReset, async (c) => {
    const { email } = c.req.valid('json');
    await limitAccount(c, email);
    const db = createDb(c.env.DB);
    const row = await db.select({ id: customers.id }).from(customers).where(eq(customers.email, email)).get();
    if (row) {
      const token = await createOneTimeToken(db, 'password_reset', row.id);
      await sendEmail(c.env, c.get('logger'), {
        to: email,
        subject: 'Reset your password',
        text: `Reset your password within an hour: ${link(c.env, '/account/reset-password', token)}\nToken: ${token}\nIf you did not ask for this, ignore this email.`,
      });
    }
    return c.json({ status: 'accepted' as const }, 202);
  })
  .openapi(routes.resetPassword, async (c) => {
    const { token, password } = c.req.valid('json');
    const db = createDb(c.env.DB);
    const customerId = await consumeOneTimeToken(db, 'password_reset', token);
    await db
      .update(customers)
      .set({
        passwordHash: await hashPassword(password),
        failedLogins: 0,
        lockedUntil: null,
        updatedAt: new Date(),
      })
      .where(eq(customers.id, customerId));
    await revokeAllSessions(db, 'customer', customerId, 'password_changed');
    return c.body(null, 204);
  });
