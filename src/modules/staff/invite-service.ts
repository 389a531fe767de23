/**
 * Staff invitations: an invite names an email and a role; its token (256 bits, only the SHA-256 stored) travels only
 * in the invitation mail, and accepting it creates the account with the name and password the invitee chooses.
 * Invites expire after INVITE_TTL_MS and work once. Inviting an address again replaces its pending invite, which
 * revokes it: only a caller who may revoke it directly may do so. An invitation is written only while its inviter's
 * authority holds (see grants/authority.ts), so one made as it ends does not outlive the revocation.
 *
 * The mail is sent by the email consumer from the `staff_invite.created` event (src/modules/notifications), which
 * issues the token as it builds the mail (`invitationMail`): no token is ever in an event or in a log.
 */
import { and, eq } from 'drizzle-orm';
import { type StaffRole, staffInvites, staffUsers } from '../../db/schema';
import type { AdminCaller } from '../../lib/caller';
import { commit } from '../../lib/commit';
import { randomToken, sha256Hex } from '../../lib/crypto';
import { onlyIf } from '../../lib/d1-writes';
import { createDb } from '../../lib/db';
import { AppError, conflict, notFound } from '../../lib/errors';
import { newId } from '../../lib/ids';
import type { EmailMessage } from '../email/types';
import { authorityHeld, refuseEndedAuthority } from '../grants/authority';
import { pendingInvite } from '../grants/read';
import { revokePendingInvites } from '../grants/service';
import { INVITE_TTL_MS } from './invite-ttl';
import { assertMayGrantRole, assertMayRevokeInvite } from './rules';

type InviteRow = typeof staffInvites.$inferSelect;

/**
 * Invites `input.email`; the invitation is mailed from its event. The token travels only to the invitee's mailbox:
 * whoever invites cannot accept in their place.
 */
export async function createInvite(
  env: Env,
  caller: AdminCaller,
  input: { email: string; role: StaffRole },
): Promise<InviteRow> {
  assertMayGrantRole(caller.principal, input.role);
  const db = createDb(env.DB);
  const existing = await db
    .select({ id: staffUsers.id })
    .from(staffUsers)
    .where(eq(staffUsers.email, input.email))
    .get();
  if (existing) throw conflict('staff_exists', 'A staff member with this email already exists.');

  const now = new Date();
  const replaced = await db
    .select()
    .from(staffInvites)
    .where(and(eq(staffInvites.email, input.email), pendingInvite(now)))
    .all();
  for (const pending of replaced) assertMayRevokeInvite(caller.principal, pending.role);
  const id = newId('inv');
  const [, inserted] = await commit(db, caller, {
    statements: [
      // Only the invitations checked above: one created since, by someone else, is not this caller's to revoke.
      revokePendingInvites(
        db,
        replaced.map((r) => r.id),
        now,
      ),
      db
        .insert(staffInvites)
        .values({
          id,
          email: input.email,
          role: input.role,
          // A token nobody holds: the mail replaces it with the one it carries.
          tokenHash: await sha256Hex(randomToken(32)),
          // NULL, failing the NOT NULL column and so the whole batch, once the inviter's authority has ended.
          invitedBy: onlyIf(authorityHeld(db, caller.principal), caller.actor.id),
          expiresAt: new Date(now.getTime() + INVITE_TTL_MS),
        })
        .returning(),
    ],
    audit: [
      {
        action: 'staff_invite.create',
        targetType: 'staff_invite',
        targetId: id,
        changes: { email: input.email, role: input.role },
      },
      ...replaced.map((r) => ({
        action: 'staff_invite.revoke',
        targetType: 'staff_invite',
        targetId: r.id,
        changes: { email: r.email, role: r.role, replaced_by: id },
      })),
    ],
    events: [
      { type: 'staff_invite.created', aggregateType: 'staff_invite', aggregateId: id, payload: { id } },
    ],
    recheck: () => refuseEndedAuthority(db, caller.principal),
  });
  return inserted[0]!;
}

/**
 * The invitation mail with a fresh token, whose hash replaces the invite's (so only the newest mail of an invite
 * works); null once the invite is no longer pending, so a revoked invite is never mailed.
 */
export async function invitationMail(env: Env, inviteId: string): Promise<EmailMessage | null> {
  const db = createDb(env.DB);
  const token = randomToken(32);
  const [invite] = await db
    .update(staffInvites)
    .set({ tokenHash: await sha256Hex(token) })
    .where(and(eq(staffInvites.id, inviteId), pendingInvite(new Date())))
    .returning();
  if (!invite) return null;
  return {
    to: invite.email,
    subject: 'You are invited to the edgecart admin',
    text: `You were invited as ${invite.role}. Accept within 72 hours: ${env.PUBLIC_URL}/admin/accept-invite?token=${encodeURIComponent(token)}\nToken: ${token}`,
  };
}

export async function revokeInvite(env: Env, caller: AdminCaller, id: string): Promise<InviteRow> {
  const db = createDb(env.DB);
  const invite = await db.select().from(staffInvites).where(eq(staffInvites.id, id)).get();
  if (!invite) throw notFound('The invitation');
  assertMayRevokeInvite(caller.principal, invite.role);
  const now = new Date();
  if (invite.acceptedAt || invite.revokedAt || invite.expiresAt <= now) {
    throw new AppError(409, 'invite_not_pending', 'Only a pending invitation can be revoked.');
  }
  const [revoked] = await commit(db, caller, {
    conditional: true,
    statements: [
      db
        .update(staffInvites)
        .set({ revokedAt: now })
        .where(and(eq(staffInvites.id, id), pendingInvite(now)))
        .returning(),
    ],
    audit: {
      action: 'staff_invite.revoke',
      targetType: 'staff_invite',
      targetId: id,
      changes: { email: invite.email, role: invite.role },
    },
  });
  return revoked[0] ?? invite;
}
