/** Staff members and invitations as admins list them: newest first, keyset pagination on (created_at, id). */
import { and, desc, eq, isNotNull, isNull, lte } from 'drizzle-orm';
import { type StaffRole, staffInvites, staffUsers } from '../../db/schema';
import { createDb } from '../../lib/db';
import { notFound } from '../../lib/errors';
import { olderThan } from '../../lib/keyset';
import { pendingInvite } from '../grants/read';

type StaffRow = typeof staffUsers.$inferSelect;
export type InviteStatus = 'pending' | 'accepted' | 'revoked' | 'expired';
export const INVITE_SORT = 'created_at_desc';

export const STAFF_SORT = 'created_at_desc';

export function listStaff(
  d1: D1Database,
  filters: { role?: StaffRole | undefined; status?: StaffRow['status'] | undefined },
  page: { limit: number; after: [number, string] | null },
) {
  return createDb(d1)
    .select()
    .from(staffUsers)
    .where(
      and(
        filters.role ? eq(staffUsers.role, filters.role) : undefined,
        filters.status ? eq(staffUsers.status, filters.status) : undefined,
        olderThan(staffUsers.createdAt, staffUsers.id, page.after),
      ),
    )
    .orderBy(desc(staffUsers.createdAt), desc(staffUsers.id))
    .limit(page.limit + 1);
}

export async function getStaff(d1: D1Database, id: string): Promise<StaffRow> {
  const row = await createDb(d1).select().from(staffUsers).where(eq(staffUsers.id, id)).get();
  if (!row) throw notFound('The staff member');
  return row;
}

export function listInvites(
  d1: D1Database,
  filters: { status?: InviteStatus | undefined },
  page: { limit: number; after: [number, string] | null },
) {
  const now = new Date();
  const byStatus = {
    pending: pendingInvite(now),
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
        olderThan(staffInvites.createdAt, staffInvites.id, page.after),
      ),
    )
    .orderBy(desc(staffInvites.createdAt), desc(staffInvites.id))
    .limit(page.limit + 1);
}
