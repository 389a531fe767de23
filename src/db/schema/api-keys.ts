/**
 * API keys. A secret key reads `sk_<id>_<secret>`: the id finds the row, and the SHA-256 of the secret is
 * compared in constant time with `secret_hash`. Only the hash is stored; the key is shown once at creation.
 * Publishable keys (`pk_...`) are public by design: they name a storefront and its default region.
 */
import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

export const apiKeys = sqliteTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    kind: text('kind', { enum: ['secret', 'publishable'] }).notNull(),
    name: text('name').notNull(),
    secretHash: text('secret_hash').notNull(),
    /** Secret keys: the permissions this key holds (a subset of src/lib/permissions.ts). */
    permissions: text('permissions', { mode: 'json' }).$type<string[]>(),
    /** Publishable keys: the region code the storefront sells in when the shopper's country decides nothing. */
    defaultRegion: text('default_region'),
    /** Who created it: a staff id, or `system` for keys made by scripts. */
    createdBy: text('created_by'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' })
      .notNull()
      .default(sql`(unixepoch('subsec') * 1000)`),
    lastUsedAt: integer('last_used_at', { mode: 'timestamp_ms' }),
    revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
  },
  (t) => [
    uniqueIndex('api_keys_secret_hash_uq').on(t.secretHash),
    // Revoking walks a key chain down by created_by (grants/read.ts keyIdsDescendedFrom): a search per level.
    index('api_keys_created_by_idx').on(t.createdBy),
    // Listed newest first (src/modules/api-keys/read.ts): unrevoked keys unless asked, or by kind, both with
    // and without the revoked ones (kept for good: they would fill the search of a kind's unrevoked keys).
    index('api_keys_created_idx').on(t.createdAt, t.id),
    index('api_keys_unrevoked_created_idx').on(t.createdAt, t.id).where(sql`revoked_at IS NULL`),
    index('api_keys_kind_created_idx').on(t.kind, t.createdAt, t.id),
    index('api_keys_unrevoked_kind_created_idx').on(t.kind, t.createdAt, t.id).where(sql`revoked_at IS NULL`),
  ],
);
