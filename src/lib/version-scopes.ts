/**
 * The scopes of the cache versions (src/lib/cache-versions.ts) and the SQL of a scope's next version: plain values
 * with no imports, so that the seed script (scripts/seed.mjs, run by Node, which strips types but cannot run a
 * class's parameter properties) moves a version the way every catalog write does.
 */

/** Everything: every cached response depends on it. */
export const CATALOG_SCOPE = 'catalog';
/** Every listing. */
export const LISTING_SCOPE = 'listing';
/** One product's page. */
export const productScope = (handle: string) => `product:${handle}`;

/**
 * The next version: D1's clock in ms, or one past the largest version when that is ahead (two writes in one
 * millisecond, a clock step back). Versions therefore grow in commit order, which is what lets an isolate ask
 * for "everything after the largest version I have seen".
 */
export const NEXT_VERSION_SQL =
  "max(CAST(unixepoch('subsec') * 1000 AS INTEGER), coalesce((SELECT max(version) FROM cache_versions), 0) + 1)";
