/**
 * All regions with their countries, read from D1 once per isolate per version of the `catalog` scope (which
 * every region write moves). Region resolution runs before the edge-cache lookup on every storefront request,
 * so it must not cost a D1 query on a cache hit.
 *
 * Only a loaded directory is shared between requests, never a pending load: a request that awaits a promise
 * another request's I/O settles waits for that request, and hangs for good if that request is cancelled
 * (workerd's cross-request promise rules). Requests that find no directory for their version load their own;
 * it is one small query, and only until the first load lands.
 */
import { asc } from 'drizzle-orm';
import { regionCountries, regions } from '../db/schema';
import type { CacheVersions } from './cache-versions';
import { sessionDatabase } from './d1-session';
import { createDb } from './db';
import type { RegionInfo } from './store-context';
import { CATALOG_SCOPE } from './version-scopes';

export type RegionDirectory = {
  regions: RegionInfo[];
  byCode: Map<string, RegionInfo>;
  byCountry: Map<string, RegionInfo>;
};

let memo: { version: number; directory: RegionDirectory } | undefined;

export function getRegionDirectory(
  d1: D1Database,
  versions: CacheVersions,
): RegionDirectory | Promise<RegionDirectory> {
  const version = versions.of(CATALOG_SCOPE);
  if (memo?.version === version) return memo.directory;
  // Read at least as new as the versions: a replica behind them must not be remembered under their version.
  return loadRegionDirectory(sessionDatabase(d1, versions.bookmark ?? 'first-unconstrained')).then(
    (directory) => {
      // Versions only grow; a load for an older one that lands late must not replace a newer directory.
      if (!memo || memo.version <= version) memo = { version, directory };
      return directory;
    },
  );
}

async function loadRegionDirectory(d1: D1Database): Promise<RegionDirectory> {
  const db = createDb(d1);
  const [regionRows, countryRows] = await db.batch([
    db.select().from(regions).orderBy(asc(regions.code)),
    db.select().from(regionCountries).orderBy(asc(regionCountries.countryCode)),
  ]);
  const list: RegionInfo[] = regionRows.map((r) => ({
    id: r.id,
    code: r.code,
    name: r.name,
    currencyCode: r.currencyCode,
    taxRateBps: r.taxRateBps,
    pricesIncludeTax: r.pricesIncludeTax,
    locales: r.locales,
    countries: countryRows.filter((c) => c.regionId === r.id).map((c) => c.countryCode),
  }));
  return {
    regions: list,
    byCode: new Map(list.map((r) => [r.code, r])),
    byCountry: new Map(list.flatMap((r) => r.countries.map((country) => [country, r] as const))),
  };
}
