import type { Context } from 'hono';
import { bearerToken } from '../../auth/bearer';
import { anonymousCaller, requestMeta } from '../../auth/caller';
import { staffPrincipal } from '../../auth/staff-principal';
import type { AppEnv } from '../../lib/app-env';
import { createDb } from '../../lib/db';
import { createRouter } from '../../lib/openapi';
import { noStore } from '../../middleware/no-store';
import { rateLimit } from '../../middleware/rate-limit';
import { listOwnSessions, revokeOwnSession } from '../sessions/own-sessions';
import { refreshTokenOwner } from '../sessions/service';
import { acceptInvite } from '../staff/accept-invite';
import { serializeStaff } from '../staff/schemas';
import { checkPassword } from './login-service';
import {
  type ChallengePurpose,
  confirmEnrollment,
  openChallenge,
  requestEnrollment,
  startEnrollment,
  verifySecondFactor,
} from './mfa-service';
import * as routes from './routes';
import { logoutStaff, refreshStaffTokens, staffTokens } from './session-service';

/**
 * The MFA challenge a request presents, after counting the attempt against its account's rate limit (whichever
 * challenge it comes with, so rotating challenges buys no extra guesses).
 */
async function limitedChallenge(c: Context<AppEnv>, purpose: ChallengePurpose, token: string) {
  const challenge = await openChallenge(c.env.DB, purpose, token);
  await rateLimit('AUTH_ACCOUNT_RATE_LIMITER', `staff-id:${challenge.principalId}`, c);
  return challenge;
}

// Most answers here carry tokens, TOTP secrets or recovery codes: none may be stored by any cache.
const router = createRouter();
router.use('*', noStore());

export const staffAuthRouter = router
  .openapi(routes.login, async (c) => {
    const { email, password } = c.req.valid('json');
    await rateLimit('AUTH_ACCOUNT_RATE_LIMITER', `staff:${email}`, c);
    const outcome = await checkPassword(c.env.DB, anonymousCaller(c), { email, password });
    if (outcome.next === 'mfa') {
      return c.json(
        { mfa_required: true as const, mfa_token: outcome.token, expires_in: outcome.expiresIn },
        200,
      );
    }
    if (outcome.next === 'enroll') {
      return c.json(
        {
          mfa_enrollment_required: true as const,
          enrollment_token: outcome.token,
          expires_in: outcome.expiresIn,
        },
        200,
      );
    }
    return c.json(await staffTokens(c.env, requestMeta(c), outcome.staff), 200);
  })
  .openapi(routes.verifyMfa, async (c) => {
    const body = c.req.valid('json');
    const challenge = await limitedChallenge(c, 'staff_mfa', body.mfa_token);
    const staff = await verifySecondFactor(c.env, anonymousCaller(c), challenge, {
      code: body.code,
      recoveryCode: body.recovery_code,
    });
    return c.json(await staffTokens(c.env, requestMeta(c), staff), 200);
  })
  .openapi(routes.requestEnrollment, async (c) => {
    const staff = await staffPrincipal(c.env, bearerToken(c.req.header('Authorization')) ?? '');
    await rateLimit('AUTH_ACCOUNT_RATE_LIMITER', `staff-id:${staff.id}`, c);
    const { password } = c.req.valid('json');
    const { token, expiresIn } = await requestEnrollment(c.env.DB, anonymousCaller(c), staff.id, password);
    return c.json(
      { mfa_enrollment_required: true as const, enrollment_token: token, expires_in: expiresIn },
      200,
    );
  })
  .openapi(routes.startEnrollment, async (c) => {
    const challenge = await limitedChallenge(c, 'staff_mfa_enrollment', c.req.valid('json').enrollment_token);
    const { secret, otpauthUri } = await startEnrollment(c.env, anonymousCaller(c), challenge);
    return c.json({ secret, otpauth_uri: otpauthUri }, 200);
  })
  .openapi(routes.confirmEnrollment, async (c) => {
    const body = c.req.valid('json');
    const challenge = await limitedChallenge(c, 'staff_mfa_enrollment', body.enrollment_token);
    const { staff, recoveryCodes } = await confirmEnrollment(c.env, anonymousCaller(c), challenge, body.code);
    return c.json(
      { ...(await staffTokens(c.env, requestMeta(c), staff)), recovery_codes: recoveryCodes },
      200,
    );
  })
  .openapi(routes.refresh, async (c) => {
    const { refresh_token } = c.req.valid('json');
    const owner = await refreshTokenOwner(createDb(c.env.DB), refresh_token);
    // Counted per member before the token is consumed, as the customer refresh is.
    if (owner?.principalType === 'staff') {
      await rateLimit('AUTH_ACCOUNT_RATE_LIMITER', `staff-id:${owner.principalId}`, c);
    }
    return c.json(await refreshStaffTokens(c.env, requestMeta(c), refresh_token, owner), 200);
  })
  .openapi(routes.logout, async (c) => {
    await logoutStaff(c.env.DB, c.req.valid('json').refresh_token);
    return c.body(null, 204);
  })
  .openapi(routes.listSessions, async (c) => {
    const principal = c.get('principal');
    return c.json(await listOwnSessions(createDb(c.env.DB), 'staff', principal.id, principal.sessionId), 200);
  })
  .openapi(routes.revokeSession, async (c) => {
    await revokeOwnSession(createDb(c.env.DB), 'staff', c.get('principal').id, c.req.valid('param').id);
    return c.body(null, 204);
  })
  .openapi(routes.acceptInvite, async (c) => {
    return c.json(serializeStaff(await acceptInvite(c.env, anonymousCaller(c), c.req.valid('json'))), 201);
  });
