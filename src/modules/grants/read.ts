/**
 * What a member's or a key's authority made, for revoking it when that authority ends (service.ts): the keys
 * descended from it, and which invitations are still pending.
 */
import { and, gt, isNull, type SQL, sql } from 'drizzle-orm';
import { staffInvites } from '../../db/schema';

/**
 * The ids of every key `creatorId`'s authority created, revoked ones included: keys it created, keys those keys
 * created, and so on down (a key's `created_by` is the staff member or the key that made it).
 */
export const keyIdsDescendedFrom = (creatorId: string) => sql`WITH RECURSIVE tree(id) AS (
      SELECT k.id FROM api_keys k WHERE k.created_by = ${creatorId}
      UNION SELECT k.id FROM api_keys k JOIN tree ON k.created_by = tree.id
    ) SELECT id FROM tree`;

/** An invitation that can still be accepted at `now` (a time, or the database's clock as the statement runs). */
export const pendingInvite = (now: Date | SQL) =>
  and(isNull(staffInvites.acceptedAt), isNull(staffInvites.revokedAt), gt(staffInvites.expiresAt, now));
