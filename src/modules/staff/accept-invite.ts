/**
 * Accepting an invitation creates the staff account. Nobody is signed in, so the new member is the audit actor.
 * Every rejection (unknown, expired, revoked or used token) is the same answer: a token that fails tells its
 * holder nothing about why. A second acceptance of one invite fails on the unique staff email even when two
 * race, because the account insert and the invite update are one batch.
 */
import { and, eq, gt, isNull } from 'drizzle-orm';
import { staffInvites, staffUsers } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { commit } from '../../lib/commit';
import { sha256Hex } from '../../lib/crypto';
import { constraintFailure } from '../../lib/d1-writes';
import { createDb } from '../../lib/db';
import { AppError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { hashPassword } from '../../lib/password';

const invalidInvite = () =>
  new AppError(400, 'invalid_invite', 'This invitation is invalid, expired or already used.');

export async function acceptInvite(
  env: Env,
  caller: Caller,
  input: { token: string; name: string; password: string },
): Promise<typeof staffUsers.$inferSelect> {
  const db = createDb(env.DB);
  const now = new Date();
  const invite = await db
    .select()
    .from(staffInvites)
    .where(
      and(
        eq(staffInvites.tokenHash, await sha256Hex(input.token)),
        isNull(staffInvites.acceptedAt),
        isNull(staffInvites.revokedAt),
        gt(staffInvites.expiresAt, now),
      ),
    )
    .get();
  if (!invite) throw invalidInvite();
  const taken = await db
    .select({ id: staffUsers.id })
    .from(staffUsers)
    .where(eq(staffUsers.email, invite.email))
    .get();
  if (taken) throw invalidInvite();

  const id = newId('stf');
  const passwordHash = await hashPassword(input.password);
  try {
    const [inserted] = await commit(db, caller, {
      statements: [
        db
          .insert(staffUsers)
          .values({ id, email: invite.email, name: input.name, role: invite.role, passwordHash })
          .returning(),
        db
          .update(staffInvites)
          .set({ acceptedAt: now })
          .where(and(eq(staffInvites.id, invite.id), isNull(staffInvites.acceptedAt))),
      ],
      audit: {
        action: 'staff.create',
        targetType: 'staff',
        targetId: id,
        changes: { email: invite.email, role: invite.role, name: input.name, invite_id: invite.id },
        actor: { type: 'staff', id },
      },
    });
    return inserted[0]!;
  } catch (error) {
    // Only the unique email can fail here: another acceptance of this invite won the race.
    if (constraintFailure(error)?.kind === 'unique') throw invalidInvite();
    throw error;
  }
}
