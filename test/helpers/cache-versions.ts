/** Cache versions (src/lib/cache-versions.ts) as tests see and move them. */
import { env } from 'cloudflare:workers';
import { cacheVersionsMoved } from '../../src/lib/cache-versions';
import { CatalogVersionBump } from '../../src/lib/catalog-version-bumps';
import { createDb } from '../../src/lib/db';

/**
 * For fixtures that write the catalog straight into D1, bypassing the services (and so their version bumps):
 * moves the `catalog` scope, as a region write does, so no cached response from before is reachable, and makes
 * this isolate read the versions again on its next request.
 */
export async function invalidateCatalogCache(): Promise<void> {
  const db = createDb(env.DB);
  await db.batch([CatalogVersionBump.region(db).statement]);
  cacheVersionsMoved();
}

/** Every stored version by scope. */
export async function cacheVersionRows(): Promise<Record<string, number>> {
  const { results } = await env.DB.prepare('SELECT scope, version FROM cache_versions ORDER BY scope').all<{
    scope: string;
    version: number;
  }>();
  return Object.fromEntries(results.map((r) => [r.scope, r.version]));
}
