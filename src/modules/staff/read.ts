/** Staff members and invitations as admins list them: newest first, keyset pagination on (created_at, id). */
import { and, desc, eq, gte, isNotNull, isNull, lte, sql } from 'drizzle-orm';
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

/**
 * The creation time of the oldest invitation pending at `now` (NULL: none), from the open invitations' expiry
 * index, which holds the pending ones in one range. A page of pending invitations searches the open ones down to
 * it: below it lie the expired ones nobody answered, kept for good, which would otherwise fill the search.
 * `+o.created_at`: a bare column's min() walks the creation index from the oldest, the expired ones first.
 */
const oldestPendingCreated = (now: Date) =>
  sql`(SELECT min(+o.created_at) FROM ${staffInvites} o
    WHERE o.accepted_at IS NULL AND o.revoked_at IS NULL AND o.expires_at > ${now.getTime()})`;

export function listInvites(
  d1: D1Database,
  filters: { status?: InviteStatus | undefined },
  page: { limit: number; after: [number, string] | null },
) {
  const now = new Date();
  const byStatus = {
    pending: and(pendingInvite(now), gte(staffInvites.createdAt, oldestPendingCreated(now))),
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
