import { createRoute } from '@hono/zod-openapi';
import { requireStaff } from '../../auth/require-staff';
import { guardedRoute, jsonBody, jsonContent, problems, publicRoute } from '../../lib/openapi';
import { limitByIp } from '../../middleware/rate-limit';
import {
  RefreshRequestSchema,
  SessionListSchema,
  SessionParams,
  TokenResponseSchema,
} from '../sessions/schemas';
import { StaffSchema } from '../staff/schemas';
import {
  AcceptInviteBody,
  EnrolledTokenResponseSchema,
  EnrollmentConfirmBody,
  EnrollmentRequestBody,
  EnrollmentSecretSchema,
  EnrollmentStartBody,
  MfaEnrollmentRequiredSchema,
  MfaVerifyBody,
  StaffLoginBody,
  StaffLoginResponseSchema,
} from './schemas';

const tags = ['Auth: staff'];
const middleware = limitByIp();

export const login = publicRoute({
  method: 'post',
  path: '/login',
  tags,
  middleware,
  summary: 'Log in with email and password',
  description:
    'Answers with tokens, or with `mfa_required` and an `mfa_token` (send a code to /mfa/verify), or — for an ' +
    'owner or admin without MFA — with `mfa_enrollment_required` and an `enrollment_token`. Owners and admins ' +
    'never receive an admin token before passing MFA.',
  request: { body: jsonBody(StaffLoginBody) },
  responses: {
    200: jsonContent(StaffLoginResponseSchema, 'Tokens, or the next step'),
    ...problems(401, 422, 429),
  },
});

export const verifyMfa = publicRoute({
  method: 'post',
  path: '/mfa/verify',
  tags,
  middleware,
  summary: 'Complete a login with a TOTP code or a recovery code',
  request: { body: jsonBody(MfaVerifyBody) },
  responses: {
    200: jsonContent(TokenResponseSchema, 'Tokens'),
    ...problems(401, 422, 429),
  },
});

export const startEnrollment = publicRoute({
  method: 'post',
  path: '/mfa/enrollment',
  tags,
  middleware,
  summary: 'Start MFA enrollment: get a new TOTP secret',
  request: { body: jsonBody(EnrollmentStartBody) },
  responses: {
    200: jsonContent(EnrollmentSecretSchema, 'The secret to add to an authenticator app'),
    ...problems(401, 409, 422, 429),
  },
});

export const requestEnrollment = createRoute({
  method: 'post',
  path: '/mfa/enrollment-token',
  tags,
  middleware,
  security: [{ staffToken: [] }],
  summary: 'Get an enrollment token to turn MFA on (any signed-in staff member)',
  description:
    'For roles where MFA is optional. Needs the staff access token and the current password; then continue with ' +
    '/mfa/enrollment and /mfa/enrollment/confirm.',
  request: { body: jsonBody(EnrollmentRequestBody) },
  responses: {
    200: jsonContent(MfaEnrollmentRequiredSchema, 'The enrollment token'),
    ...problems(401, 409, 422, 429),
  },
});

export const confirmEnrollment = publicRoute({
  method: 'post',
  path: '/mfa/enrollment/confirm',
  tags,
  middleware,
  summary: 'Finish MFA enrollment with a first code',
  description: 'Turns MFA on, signs in, and returns ten recovery codes, shown only here.',
  request: { body: jsonBody(EnrollmentConfirmBody) },
  responses: {
    200: jsonContent(EnrolledTokenResponseSchema, 'Tokens and recovery codes'),
    ...problems(401, 409, 422, 429),
  },
});

export const refresh = publicRoute({
  method: 'post',
  path: '/refresh',
  tags,
  middleware,
  summary: 'Exchange a refresh token for new tokens',
  description: 'The refresh token rotates; presenting a used one again ends the whole session.',
  request: { body: jsonBody(RefreshRequestSchema) },
  responses: {
    200: jsonContent(TokenResponseSchema, 'Tokens'),
    ...problems(401, 422, 429),
  },
});

export const logout = publicRoute({
  method: 'post',
  path: '/logout',
  tags,
  middleware,
  summary: 'End the session a refresh token belongs to',
  request: { body: jsonBody(RefreshRequestSchema) },
  responses: {
    204: { description: 'Signed out' },
    ...problems(422, 429),
  },
});

export const acceptInvite = publicRoute({
  method: 'post',
  path: '/invites/accept',
  tags,
  middleware,
  summary: 'Accept a staff invitation',
  description:
    'Creates the account with the invited email and role. Then log in (owners and admins enroll MFA). An ' +
    'invitation that is unknown, expired, revoked or used, including one that ends while this request runs, is ' +
    'the same 400 `invalid_invite`, with nothing written.',
  request: { body: jsonBody(AcceptInviteBody) },
  responses: {
    201: jsonContent(StaffSchema, 'The new staff member'),
    ...problems(400, 409, 422, 429),
  },
});

export const listSessions = guardedRoute(requireStaff(), 'staffToken', {
  method: 'get',
  path: '/sessions',
  tags,
  summary: 'The signed-in staff member’s active sessions',
  responses: { 200: jsonContent(SessionListSchema, 'Sessions'), ...problems(401) },
});

export const revokeSession = guardedRoute(requireStaff(), 'staffToken', {
  method: 'delete',
  path: '/sessions/{id}',
  tags,
  summary: 'End one of the signed-in staff member’s sessions',
  request: { params: SessionParams },
  responses: { 204: { description: 'Revoked' }, ...problems(401, 404, 422) },
});
