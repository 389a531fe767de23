/** Listing API keys, newest first, with keyset pagination on (created_at, id); the keys a member's authority made. */
import { and, desc, eq, isNull } from 'drizzle-orm';
import { apiKeys } from '../../db/schema';
import { createDb } from '../../lib/db';
import { olderThan } from '../../lib/keyset';

type ApiKeyRow = typeof apiKeys.$inferSelect;

export const API_KEY_SORT = 'created_at_desc';

export function listApiKeys(
  d1: D1Database,
  filters: { kind?: ApiKeyRow['kind'] | undefined; includeRevoked: boolean },
  page: { limit: number; after: [number, string] | null },
) {
  return createDb(d1)
    .select()
    .from(apiKeys)
    .where(
      and(
        filters.kind ? eq(apiKeys.kind, filters.kind) : undefined,
        filters.includeRevoked ? undefined : isNull(apiKeys.revokedAt),
        olderThan(apiKeys.createdAt, apiKeys.id, page.after),
      ),
    )
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
    .limit(page.limit + 1);
}

/** The secret keys a staff member created themselves, revoked ones included, newest first. */
export function secretKeysCreatedBy(d1: D1Database, staffId: string) {
  return createDb(d1)
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.createdBy, staffId), eq(apiKeys.kind, 'secret')))
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
    .all();
}
