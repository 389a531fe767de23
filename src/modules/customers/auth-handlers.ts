import type { Context } from 'hono';
import { bearerToken } from '../../auth/bearer';
import { anonymousCaller, requestMeta } from '../../auth/caller';
import type { AppEnv } from '../../lib/app-env';
import { createDb } from '../../lib/db';
import { invalidToken, verifyAccessToken } from '../../lib/jwt';
import { createRouter } from '../../lib/openapi';
import { rateLimit } from '../../middleware/rate-limit';
import { issueTokens } from '../sessions/issue-tokens';
import { refreshTokenOwner, revokeSession, rotateRefreshToken } from '../sessions/service';
import * as routes from './auth-routes';
import { registerCustomer, signInWithPassword } from './auth-service';
import { confirmEmail, requestPasswordReset, resetPassword } from './email-flows';
import { signInWithIdToken } from './oidc-login';
import { serializeCustomer } from './schemas';

/**
 * The per-account limit (on top of the per-IP one on every route): keyed by the normalized email where the
 * caller names an account, by the customer id where a refresh token does.
 */
const limitAccount = (c: Context<AppEnv>, account: string) =>
  rateLimit('AUTH_ACCOUNT_RATE_LIMITER', `customer:${account}`, c);

export const customerAuthRouter = createRouter()
  .openapi(routes.register, async (c) => {
    const input = c.req.valid('json');
    await limitAccount(c, input.email);
    const row = await registerCustomer(createDb(c.env.DB), anonymousCaller(c), input);
    const tokens = await issueTokens(c.env, requestMeta(c), { type: 'customer', id: row.id });
    c.header('Cache-Control', 'no-store');
    return c.json({ customer: await serializeCustomer(c.env, row), tokens }, 201);
  })
  .openapi(routes.login, async (c) => {
    const input = c.req.valid('json');
    await limitAccount(c, input.email);
    const { customer, session } = await signInWithPassword(createDb(c.env.DB), anonymousCaller(c), input);
    const tokens = await issueTokens(c.env, requestMeta(c), { type: 'customer', id: customer.id }, session);
    c.header('Cache-Control', 'no-store');
    return c.json({ customer: await serializeCustomer(c.env, customer), tokens }, 200);
  })
  .openapi(routes.oidcLogin, async (c) => {
    const input = c.req.valid('json');
    const row = await signInWithIdToken(c.env, anonymousCaller(c), input);
    const tokens = await issueTokens(c.env, requestMeta(c), { type: 'customer', id: row.id });
    c.header('Cache-Control', 'no-store');
    return c.json({ customer: await serializeCustomer(c.env, row), tokens }, 200);
  })
  .openapi(routes.refresh, async (c) => {
    const { refresh_token } = c.req.valid('json');
    const db = createDb(c.env.DB);
    const owner = await refreshTokenOwner(db, refresh_token);
    if (owner?.principalType === 'customer') await limitAccount(c, owner.principalId);
    // A staff token is refused here untouched: consuming it would end that staff session as a "reuse".
    const { session, refreshToken } = await rotateRefreshToken(db, refresh_token, 'customer');
    const tokens = await issueTokens(
      c.env,
      requestMeta(c),
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
    await confirmEmail(c.env, anonymousCaller(c), c.req.valid('json').token);
    return c.body(null, 204);
  })
  .openapi(routes.requestPasswordReset, async (c) => {
    const { email } = c.req.valid('json');
    await limitAccount(c, email);
    await requestPasswordReset(c.env, anonymousCaller(c), email);
    return c.json({ status: 'accepted' as const }, 202);
  })
  .openapi(routes.resetPassword, async (c) => {
    const { token, password } = c.req.valid('json');
    await resetPassword(c.env, anonymousCaller(c), token, password);
    return c.body(null, 204);
  });
