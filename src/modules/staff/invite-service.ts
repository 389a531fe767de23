/**
 * Staff invitations: an invite names an email and a role; its token (256 bits, only the SHA-256 stored) is shown
 * once to the inviter, who hands it over, and accepting it creates the account with the name and password the
 * invitee chooses. Invites expire after INVITE_TTL_MS and work once. Inviting an address again replaces its
 * pending invite.
 */
import { and, desc, eq, gt, isNotNull, isNull, lt, lte, or } from 'drizzle-orm';
import type { Context } from 'hono';
import { type StaffRole, staffInvites, staffUsers } from '../../db/schema';
import type { AppEnv } from '../../env';
import { randomToken, sha256Hex } from '../../lib/crypto';
import { createDb } from '../../lib/db';
import { AppError, conflict, notFound } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { auditEntry } from '../audit/service';
import { assertMayGrantRole } from './rules';

export const INVITE_TTL_MS = 72 * 3600 * 1000;
export const INVITE_SORT = 'created_at_desc';

type InviteRow = typeof staffInvites.$inferSelect;
export type InviteStatus = 'pending' | 'accepted' | 'revoked' | 'expired';

const pending = (now: Date) =>
  and(isNull(staffInvites.acceptedAt), isNull(staffInvites.revokedAt), gt(staffInvites.expiresAt, now));

export async function createInvite(
  c: Context<AppEnv>,
  input: { email: string; role: StaffRole },
): Promise<{ invite: InviteRow; token: string }> {
  const principal = c.get('principal');
  assertMayGrantRole(principal, input.role);
  const db = createDb(c.env.DB);
  const existing = await db
    .select({ id: staffUsers.id })
    .from(staffUsers)
    .where(eq(staffUsers.email, input.email))
    .get();
  if (existing) throw conflict('staff_exists', 'A staff member with this email already exists.');

  const now = new Date();
  const token = randomToken(32);
  const id = newId('inv');
  const [, [invite]] = await db.batch([
    db
      .update(staffInvites)
      .set({ revokedAt: now })
      .where(and(eq(staffInvites.email, input.email), pending(now))),
    db
      .insert(staffInvites)
      .values({
        id,
        email: input.email,
        role: input.role,
        tokenHash: await sha256Hex(token),
        invitedBy: principal.id,
        expiresAt: new Date(now.getTime() + INVITE_TTL_MS),
      })
      .returning(),
    auditEntry(db, c, {
      action: 'staff_invite.create',
      targetType: 'staff_invite',
      targetId: id,
      changes: { email: input.email, role: input.role },
    }),
  ]);
  return { invite: invite!, token };
}

export function listInvites(
  d1: D1Database,
  filters: { status?: InviteStatus | undefined },
  page: { limit: number; after: [number, string] | null },
) {
  const now = new Date();
  const byStatus = {
    pending: pending(now),
    accepted: isNotNull(staffInvites.acceptedAt),
    revoked: and(isNull(staffInvites.acceptedAt), isNotNull(staffInvites.revokedAt)),
    expired: and(
      isNull(staffInvites.acceptedAt),
      isNull(staffInvites.revokedAt),
      lte(staffInvites.expiresAt, now),
    ),
  };
  return createDb(d1)
    .select()
    .from(staffInvites)
    .where(
      and(
        filters.status ? byStatus[filters.status] : undefined,
        page.after
          ? or(
              lt(staffInvites.createdAt, new Date(page.after[0])),
              and(eq(staffInvites.createdAt, new Date(page.after[0])), lt(staffInvites.id, page.after[1])),
            )
          : undefined,
      ),
    )
    .orderBy(desc(staffInvites.createdAt), desc(staffInvites.id))
    .limit(page.limit + 1);
}

export async function revokeInvite(c: Context<AppEnv>, id: string): Promise<InviteRow> {
  const db = createDb(c.env.DB);
  const invite = await db.select().from(staffInvites).where(eq(staffInvites.id, id)).get();
  if (!invite) throw notFound('The invitation');
  assertMayGrantRole(c.get('principal'), invite.role);
  const now = new Date();
  if (invite.acceptedAt || invite.revokedAt || invite.expiresAt <= now) {
    throw new AppError(409, 'invite_not_pending', 'Only a pending invitation can be revoked.');
  }
  const [[revoked]] = await db.batch([
    db
      .update(staffInvites)
      .set({ revokedAt: now })
      .where(and(eq(staffInvites.id, id), pending(now)))
      .returning(),
    auditEntry(db, c, {
      action: 'staff_invite.revoke',
      targetType: 'staff_invite',
      targetId: id,
      changes: { email: invite.email, role: invite.role },
    }),
  ]);
  return revoked ?? invite;
}
