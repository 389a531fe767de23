import { z } from '@hono/zod-openapi';
import { Email } from '../../lib/email-address';
import { TokenResponseSchema } from '../sessions/schemas';

/** Login takes any string so that a wrong password and a malformed one are the same answer. */
const LoginPassword = z.string().min(1).max(256);
const TotpCode = z
  .string()
  .regex(/^\d{6}$/, 'A code is 6 digits.')
  .openapi({ example: '123456', description: 'The 6-digit code from the authenticator app' });
const ChallengeToken = z.string().min(1).max(128);

export const StaffLoginBody = z
  .object({ email: Email, password: LoginPassword })
  .strict()
  .openapi('StaffLogin');

export const MfaChallengeSchema = z
  .object({
    mfa_required: z.literal(true),
    mfa_token: z.string().openapi({ description: 'Send to /v1/auth/staff/mfa/verify with a code' }),
    expires_in: z.number().int().openapi({ example: 300 }),
  })
  .openapi('StaffMfaChallenge');

export const MfaEnrollmentRequiredSchema = z
  .object({
    mfa_enrollment_required: z.literal(true),
    enrollment_token: z.string().openapi({ description: 'Send to /v1/auth/staff/mfa/enrollment' }),
    expires_in: z.number().int().openapi({ example: 900 }),
  })
  .openapi('StaffMfaEnrollmentRequired');

export const StaffLoginResponseSchema = z
  .union([TokenResponseSchema, MfaChallengeSchema, MfaEnrollmentRequiredSchema])
  .openapi('StaffLoginResponse');

export const MfaVerifyBody = z
  .object({
    mfa_token: ChallengeToken,
    code: TotpCode.optional(),
    recovery_code: z
      .string()
      .min(16)
      .max(32)
      .optional()
      .openapi({ example: 'ABCD-EFGH-JKMN-PQRS', description: 'Instead of a code: an unused recovery code' }),
  })
  .strict()
  .refine((b) => (b.code === undefined) !== (b.recovery_code === undefined), {
    message: 'Send either code or recovery_code.',
    path: ['code'],
  })
  .openapi('StaffMfaVerify');

export const EnrollmentRequestBody = z
  .object({ password: LoginPassword })
  .strict()
  .openapi('StaffMfaEnrollmentRequest');

export const EnrollmentStartBody = z
  .object({ enrollment_token: ChallengeToken })
  .strict()
  .openapi('StaffMfaEnrollmentStart');

export const EnrollmentSecretSchema = z
  .object({
    secret: z.string().openapi({ description: 'Base32 TOTP secret, for typing into an authenticator app' }),
    otpauth_uri: z.string().openapi({ description: 'The same secret as an otpauth:// URI, for a QR code' }),
  })
  .openapi('StaffMfaEnrollmentSecret');

export const EnrollmentConfirmBody = z
  .object({ enrollment_token: ChallengeToken, code: TotpCode })
  .strict()
  .openapi('StaffMfaEnrollmentConfirm');

export const EnrolledTokenResponseSchema = TokenResponseSchema.extend({
  recovery_codes: z
    .array(z.string())
    .openapi({ description: 'Ten single-use recovery codes, shown only in this response' }),
}).openapi('StaffEnrolledTokenResponse');

export const AcceptInviteBody = z
  .object({
    token: z.string().min(1).max(128),
    name: z.string().trim().min(1).max(100),
    password: z.string().min(12, 'Use at least 12 characters.').max(256),
  })
  .strict()
  .openapi('StaffAcceptInvite');
