/**
 * Accepting an invitation creates the staff account. Nobody is signed in, so the new member is the audit actor.
 * Every rejection (unknown, expired, revoked or used token) is the same answer: a token that fails tells its
 * holder nothing about why. Hashing the password takes a while, and the invitation may be revoked (directly, or
 * with its inviter's authority), used or expire meanwhile: the account is inserted only if the invitation is
 * still pending when the batch runs, by the database's clock, so one that ended writes nothing. A second
 * acceptance of one invite fails on the unique staff email even when two race, because the account insert and
 * the invite update are one batch.
 */
import { and, eq, exists, sql } from 'drizzle-orm';
import { staffInvites, staffUsers } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { commit } from '../../lib/commit';
import { sha256Hex } from '../../lib/crypto';
import { constraintFailure, insertRowIf } from '../../lib/d1-writes';
import { createDb } from '../../lib/db';
import { AppError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { hashPassword } from '../../lib/password';
import { pendingInvite } from '../grants/read';

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
    .where(and(eq(staffInvites.tokenHash, await sha256Hex(input.token)), pendingInvite(now)))
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
  const stillPending = and(eq(staffInvites.id, invite.id), pendingInvite(sql`(unixepoch('subsec') * 1000)`));
  try {
    const [inserted, accepted] = await commit(db, caller, {
      // The invite's update is last and changes a row only where the account was inserted: nothing is audited
      // for an invitation that ended while the password was hashed.
      conditional: true,
      statements: [
        insertRowIf(
          db,
          staffUsers,
          { id, email: invite.email, name: input.name, role: invite.role, passwordHash },
          exists(db.select({ one: sql`1` }).from(staffInvites).where(stillPending)),
        ).returning(),
        db
          .update(staffInvites)
          .set({ acceptedAt: now })
          .where(stillPending)
          .returning({ id: staffInvites.id }),
      ],
      audit: {
        action: 'staff.create',
        targetType: 'staff',
        targetId: id,
        changes: { email: invite.email, role: invite.role, name: input.name, invite_id: invite.id },
        actor: { type: 'staff', id },
      },
    });
    if (!inserted[0] || accepted.length === 0) throw invalidInvite();
    return inserted[0];
  } catch (error) {
    // Only the unique email can fail here: another acceptance of this invite won the race.
    if (constraintFailure(error)?.kind === 'unique') throw invalidInvite();
    throw error;
  }
}
