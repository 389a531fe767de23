import { createRoute, z } from '@hono/zod-openapi';
import { jsonBody, jsonContent, problems, publicRoute } from '../../lib/openapi';
import { limitByIp } from '../../middleware/rate-limit';
import { OidcLoginSchema } from '../identity-providers/schemas';
import { RefreshRequestSchema, TokenResponseSchema } from '../sessions/schemas';
import {
  AuthResultSchema,
  LoginSchema,
  PasswordResetRequestSchema,
  PasswordResetSchema,
  RegisterSchema,
  TokenOnlySchema,
} from './schemas';

const tags = ['Auth: customers'];
const Accepted = z.object({ status: z.literal('accepted') }).openapi('Accepted');
const bearer = [{ customerToken: [] }];

export const register = publicRoute({
  method: 'post',
  path: '/register',
  tags,
  summary: 'Create a customer account and sign in; a verification email is sent',
  middleware: [limitByIp()] as const,
  request: { body: jsonBody(RegisterSchema) },
  responses: { 201: jsonContent(AuthResultSchema, 'Signed up'), ...problems(400, 409, 415, 422, 429) },
});

export const login = publicRoute({
  method: 'post',
  path: '/login',
  tags,
  summary: 'Sign in with email and password',
  middleware: [limitByIp()] as const,
  request: { body: jsonBody(LoginSchema) },
  responses: { 200: jsonContent(AuthResultSchema, 'Signed in'), ...problems(400, 401, 415, 422, 429) },
});

export const refresh = publicRoute({
  method: 'post',
  path: '/refresh',
  tags,
  summary: 'Trade a refresh token for new tokens (the old refresh token stops working)',
  middleware: [limitByIp()] as const,
  request: { body: jsonBody(RefreshRequestSchema) },
  responses: { 200: jsonContent(TokenResponseSchema, 'New tokens'), ...problems(400, 401, 422, 429) },
});

export const logout = createRoute({
  method: 'post',
  path: '/logout',
  tags,
  summary: 'End the session of the access token',
  security: bearer,
  responses: { 204: { description: 'Signed out' }, ...problems(401) },
});

export const verifyEmail = publicRoute({
  method: 'post',
  path: '/verify-email',
  tags,
  summary: 'Confirm an email address with the token from the verification email',
  middleware: [limitByIp()] as const,
  request: { body: jsonBody(TokenOnlySchema) },
  responses: { 204: { description: 'Verified' }, ...problems(400, 422, 429) },
});

export const requestPasswordReset = publicRoute({
  method: 'post',
  path: '/password-reset/request',
  tags,
  summary: 'Email a password reset link (answers the same whether or not the account exists)',
  middleware: [limitByIp()] as const,
  request: { body: jsonBody(PasswordResetRequestSchema) },
  responses: {
    202: jsonContent(Accepted, 'If the account exists, an email is on its way'),
    ...problems(422, 429),
  },
});

export const resetPassword = publicRoute({
  method: 'post',
  path: '/password-reset/confirm',
  tags,
  summary: 'Set a new password with the reset token; every session is signed out',
  middleware: [limitByIp()] as const,
  request: { body: jsonBody(PasswordResetSchema) },
  responses: { 204: { description: 'Password changed' }, ...problems(400, 422, 429) },
});

export const oidcLogin = publicRoute({
  method: 'post',
  path: '/oidc',
  tags,
  summary: 'Sign in with an ID token from a configured OpenID Connect provider',
  description:
    'Links by (issuer, sub), then by an email the provider marks verified. A new account stores that email as ' +
    'verified if the API would take it (as at registration); one it would not, e.g. on an internationalized ' +
    'domain, is not stored and the account has `email: null`, as for a provider that shares no email.',
  middleware: [limitByIp()] as const,
  request: { body: jsonBody(OidcLoginSchema) },
  responses: {
    200: jsonContent(AuthResultSchema, 'Signed in'),
    ...problems(400, 401, 409, 415, 422, 429, 503),
  },
});
