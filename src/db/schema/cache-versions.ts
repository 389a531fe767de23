/**
 * Versions of what the edge cache holds (src/lib/cache-versions.ts). A cached response's key names the versions
 * of the scopes it depends on; a catalog write moves those versions in the same D1 batch as the change itself,
 * so no location can see the write without its version or the version without the write.
 */
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const cacheVersions = sqliteTable(
  'cache_versions',
  {
    /** `catalog` (everything), `listing` (every list), or `product:<handle>` (one product page). */
    scope: text('scope').primaryKey(),
    /**
     * D1's clock in ms at the commit that last moved the scope, or one more than the largest version if that is
     * larger: so versions only grow in commit order, and "what changed since I last looked" is a range seek.
     */
    version: integer('version').notNull(),
  },
  (t) => [index('cache_versions_version_idx').on(t.version)],
);
