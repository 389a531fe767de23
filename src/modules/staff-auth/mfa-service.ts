/**
 * Staff MFA: enrolling a TOTP authenticator (secret stored encrypted, confirmed by a first code, ten recovery
 * codes issued) and passing the second step of a login with a code or a recovery code. A TOTP step is accepted
 * once per account: `mfa_last_step` only moves forward, in a conditional write, so a code replayed (or sent
 * twice concurrently) fails. Wrong codes count toward an account-wide lock (attempts.ts).
 */
import { and, eq, isNull, lt, or, sql } from 'drizzle-orm';
import { staffUsers } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { commit } from '../../lib/commit';
import { onlyIf } from '../../lib/d1-writes';
import { createDb, type Database } from '../../lib/db';
import { decryptField, encryptField } from '../../lib/encryption';
import { AppError, conflict } from '../../lib/errors';
import { verifyPassword } from '../../lib/password';
import { generateTotpSecret, otpauthUri, verifyTotp } from '../../lib/totp';
import {
  findOneTimeToken,
  issueOneTimeToken,
  type OneTimeGrant,
  useUpOneTimeToken,
} from '../sessions/one-time-tokens';
import { clearFailures, isLocked, recordCodeFailure, recordFailure } from './attempts';
import type { StaffRow } from './login-service';
import { consumeRecoveryCode, newRecoveryCodes } from './recovery-codes';

const TOTP_ISSUER = 'edgecart';

/** The steps between staff login and tokens: a second factor is due, or MFA must be set up first. */
export type ChallengePurpose = 'staff_mfa' | 'staff_mfa_enrollment';
/** A live challenge; `principalId` is the staff member's id. */
export type Challenge = OneTimeGrant;

const invalidChallenge = () =>
  new AppError(401, 'invalid_mfa_token', 'This MFA step has expired or was already completed; log in again.');
const alreadyEnabled = () => conflict('mfa_already_enabled', 'MFA is already set up for this account.');
const invalidCode = () => new AppError(401, 'invalid_mfa_code', 'The code is wrong or was already used.');

/**
 * The live challenge behind a presented MFA token, or a 401. Routes open it first so that attempts count
 * against the account's rate limit, whichever challenge they come with, before any code is checked.
 */
export async function openChallenge(
  d1: D1Database,
  purpose: ChallengePurpose,
  token: string,
): Promise<Challenge> {
  const challenge = await findOneTimeToken(createDb(d1), purpose, 'staff', token);
  if (!challenge) throw invalidChallenge();
  return challenge;
}

/** The staff member a live challenge belongs to; a disabled account, or a locked-out network, ends the challenge. */
async function challengedStaff(db: Database, caller: Caller, challenge: Challenge) {
  const staff = await db.select().from(staffUsers).where(eq(staffUsers.id, challenge.principalId)).get();
  if (staff?.status !== 'active' || (await isLocked(db, staff.id, caller))) throw invalidChallenge();
  return staff;
}

async function useUp(db: Database, challenge: Challenge) {
  if ((await useUpOneTimeToken(db, challenge)).length !== 1) throw invalidChallenge();
}

/**
 * An enrollment token for a signed-in member turning MFA on by choice. The current password is asked again, so a
 * stolen access token alone cannot bind someone else's authenticator to the account.
 */
export async function requestEnrollment(
  d1: D1Database,
  caller: Caller,
  staffId: string,
  password: string,
): Promise<{ token: string; expiresIn: number }> {
  const db = createDb(d1);
  const staff = await db.select().from(staffUsers).where(eq(staffUsers.id, staffId)).get();
  const locked = staff !== undefined && (await isLocked(db, staff.id, caller));
  if (!staff || locked || !(await verifyPassword(password, staff.passwordHash)).valid) {
    if (staff && !locked) await recordFailure(db, staff.id, caller);
    throw new AppError(401, 'invalid_credentials', 'The password is wrong.');
  }
  if (staff.mfaEnabledAt) throw alreadyEnabled();
  return issueOneTimeToken(db, 'staff_mfa_enrollment', { type: 'staff', id: staff.id });
}

export async function startEnrollment(env: Env, caller: Caller, challenge: Challenge) {
  const db = createDb(env.DB);
  const staff = await challengedStaff(db, caller, challenge);
  if (staff.mfaEnabledAt) throw alreadyEnabled();
  const secret = generateTotpSecret();
  // A new secret each time: an unfinished enrollment never leaves a secret someone else may have seen.
  await db
    .update(staffUsers)
    .set({ mfaSecretEncrypted: await encryptField(env, secret), mfaLastStep: null })
    .where(and(eq(staffUsers.id, staff.id), isNull(staffUsers.mfaEnabledAt)));
  return { secret, otpauthUri: otpauthUri({ issuer: TOTP_ISSUER, account: staff.email, secret }) };
}

export async function confirmEnrollment(
  env: Env,
  caller: Caller,
  challenge: Challenge,
  code: string,
): Promise<{ staff: StaffRow; recoveryCodes: string[] }> {
  const db = createDb(env.DB);
  const staff = await challengedStaff(db, caller, challenge);
  if (staff.mfaEnabledAt) throw alreadyEnabled();
  if (!staff.mfaSecretEncrypted) {
    throw conflict('mfa_enrollment_not_started', 'Start the enrollment first to get a secret.');
  }
  const secret = await decryptField(env, staff.mfaSecretEncrypted);
  const step = await verifyTotp(secret, code, { nowMs: Date.now(), lastStep: null });
  if (step === null) {
    await recordCodeFailure(db, staff.id);
    throw invalidCode();
  }
  await useUp(db, challenge);
  const recovery = await newRecoveryCodes(db, staff.id);
  // MFA goes on in the batch that stores its recovery codes and audits it, so it is never on without them. Only
  // for the secret the code was checked against: of two concurrent enrollments the second to commit writes NULL
  // into the NOT NULL status, so its whole batch fails and its recovery codes never replace the winner's.
  const stillPending = sql`${isNull(staffUsers.mfaEnabledAt)} AND ${eq(staffUsers.mfaSecretEncrypted, staff.mfaSecretEncrypted)}`;
  const now = new Date();
  const [enabled] = await commit(db, caller, {
    statements: [
      db
        .update(staffUsers)
        .set({
          status: onlyIf(stillPending, staffUsers.status),
          mfaEnabledAt: now,
          mfaLastStep: step,
          updatedAt: now,
        })
        .where(eq(staffUsers.id, staff.id))
        .returning(),
      ...recovery.statements,
      clearFailures(db, staff.id, caller),
    ],
    audit: {
      action: 'staff.mfa_enable',
      targetType: 'staff',
      targetId: staff.id,
      changes: { mfa_enabled: { from: false, to: true } },
      actor: { type: 'staff', id: staff.id },
    },
    recheck: async () => {
      throw alreadyEnabled();
    },
  });
  return { staff: enabled[0] ?? staff, recoveryCodes: recovery.codes };
}

export async function verifySecondFactor(
  env: Env,
  caller: Caller,
  challenge: Challenge,
  proof: { code?: string | undefined; recoveryCode?: string | undefined },
): Promise<StaffRow> {
  const db = createDb(env.DB);
  const staff = await challengedStaff(db, caller, challenge);
  if (!staff.mfaEnabledAt || !staff.mfaSecretEncrypted) throw invalidChallenge();

  if (proof.code !== undefined) {
    const secret = await decryptField(env, staff.mfaSecretEncrypted);
    const step = await verifyTotp(secret, proof.code, { nowMs: Date.now(), lastStep: staff.mfaLastStep });
    // The conditional write is the replay check that holds under concurrency: the step only moves forward.
    const advanced =
      step === null
        ? []
        : await db
            .update(staffUsers)
            .set({ mfaLastStep: step })
            .where(
              and(
                eq(staffUsers.id, staff.id),
                or(isNull(staffUsers.mfaLastStep), lt(staffUsers.mfaLastStep, step)),
              ),
            )
            .returning({ id: staffUsers.id });
    if (advanced.length !== 1) {
      await recordCodeFailure(db, staff.id);
      throw invalidCode();
    }
  } else if (!(await consumeRecoveryCode(db, staff.id, proof.recoveryCode ?? ''))) {
    await recordCodeFailure(db, staff.id);
    throw invalidCode();
  }

  await useUp(db, challenge);
  await commit(db, caller, {
    statements: [clearFailures(db, staff.id, caller)],
    ...(proof.code === undefined && {
      audit: {
        action: 'staff.recovery_code_use',
        targetType: 'staff',
        targetId: staff.id,
        actor: { type: 'staff', id: staff.id },
      },
    }),
  });
  return staff;
}
