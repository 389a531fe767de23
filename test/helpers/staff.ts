/** Staff for auth tests: accounts and invites inserted straight into D1; logins and MFA through HTTP. */
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, expect, vi } from 'vitest';
import { type StaffRole, staffInvites } from '../../src/db/schema';
import type { AdminCaller } from '../../src/lib/caller';
import { randomToken, sha256Hex } from '../../src/lib/crypto';
import { createDb } from '../../src/lib/db';
import { encryptField } from '../../src/lib/encryption';
import { newId } from '../../src/lib/ids';
import { hashPassword } from '../../src/lib/password';
import { ROLE_PERMISSIONS } from '../../src/lib/permissions';
import { base32Decode, generateTotpSecret, hotp, totpStep } from '../../src/lib/totp';
import { insertStaff } from './admin';
import { post } from './http';
import { unique } from './unique';

export const PASSWORD = 'correct horse battery staple';

export type Tokens = {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
};

/** A staff member inserted straight into D1 who can log in with PASSWORD; MFA off. */
export async function insertStaffWithPassword(role: StaffRole) {
  return insertStaff({ role, passwordHash: await hashPassword(PASSWORD) });
}

/** A staff member inserted into D1 with MFA enabled; returns the TOTP secret so tests can make codes. */
export async function insertStaffWithMfa(role: StaffRole) {
  const secret = generateTotpSecret();
  const staff = await insertStaff({
    role,
    passwordHash: await hashPassword(PASSWORD),
    mfaSecretEncrypted: await encryptField(env, secret),
    mfaEnabledAt: new Date(),
  });
  return { staff, secret };
}

/**
 * Holds the clock (Date only; timers and I/O run as usual) in the middle of the current 30 s TOTP step for each
 * test of the file that calls it, so a code made for a step is checked in that same step: without it, a step
 * turning between making a code and the server checking it moves every offset by one. Only for files whose codes
 * are a step or two from now: `inOneRateLimitWindow` needs the real clock to see a window roll over.
 */
export function holdClockMidTotpStep(): void {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(totpStep(Date.now()) * 30_000 + 15_000);
  });
  afterEach(() => {
    vi.useRealTimers();
  });
}

/** The TOTP code for now, or `offset` steps away. */
export function codeFor(secret: string, offset = 0): Promise<string> {
  const key = base32Decode(secret);
  if (!key) throw new Error('not a base32 secret');
  return hotp(key, totpStep(Date.now()) + offset);
}

export function login(email: string, password = PASSWORD) {
  return post('/v1/auth/staff/login', { email, password });
}

/** Logs in a member with MFA through both steps and returns their tokens. */
export async function signInWithMfa(email: string, secret: string, offset = 0): Promise<Tokens> {
  const first = await login(email);
  expect(first.status).toBe(200);
  const { mfa_token } = (await first.json()) as { mfa_token: string };
  const res = await post('/v1/auth/staff/mfa/verify', { mfa_token, code: await codeFor(secret, offset) });
  expect(res.status).toBe(200);
  return (await res.json()) as Tokens;
}

/** A staff member inserted into D1, then signed in through HTTP (owner and admin via MFA), with tokens. */
export async function signedInStaff(role: StaffRole) {
  if (role === 'owner' || role === 'admin') {
    const { staff, secret } = await insertStaffWithMfa(role);
    return { staff, tokens: await signInWithMfa(staff.email, secret) };
  }
  const staff = await insertStaffWithPassword(role);
  const res = await login(staff.email);
  expect(res.status).toBe(200);
  return { staff, tokens: (await res.json()) as Tokens };
}

/**
 * The caller a request of `member` is once its checks passed (a session of theirs, their role's permissions): for
 * calling a service directly, so a test can land another write between its checks and its batch.
 */
export const staffCaller = ({ staff }: { staff: { id: string; role: StaffRole } }): AdminCaller => ({
  actor: { type: 'staff', id: staff.id },
  meta: { requestId: unique('req'), ip: null, userAgent: null, traceparent: null },
  principal: {
    type: 'staff',
    id: staff.id,
    role: staff.role,
    sessionId: unique('ses'),
    permissions: new Set(ROLE_PERMISSIONS[staff.role]),
  },
});

/** A pending invitation written straight to D1, with the token an invitee would have received. */
export async function insertPendingInvite(
  role: StaffRole,
  overrides: { expiresAt?: Date; invitedBy?: string } = {},
) {
  const token = randomToken(32);
  const [invite] = await createDb(env.DB)
    .insert(staffInvites)
    .values({
      id: newId('inv'),
      email: `${unique('invitee')}@example.com`,
      role,
      tokenHash: await sha256Hex(token),
      invitedBy: overrides.invitedBy ?? 'stf_test',
      expiresAt: overrides.expiresAt ?? new Date(Date.now() + 3600_000),
    })
    .returning();
  return { invite: invite!, token };
}

/** The answer to an invitation that cannot be accepted (invalid, expired, used or revoked). */
export const invalidInvite = {
  type: 'https://edgecart.dev/problems/invalid_invite',
  title: 'Bad Request',
  status: 400,
  detail: 'This invitation is invalid, expired or already used.',
  code: 'invalid_invite',
  request_id: expect.any(String),
};
