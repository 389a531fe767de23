/**
 * All regions with their countries, read from D1 once per isolate per version of the `catalog` scope (which
 * every region write moves). Region resolution runs before the edge-cache lookup on every storefront request,
 * so it must not cost a D1 query on a cache hit.
 */
import { asc } from 'drizzle-orm';
import { regionCountries, regions } from '../db/schema';
import { CATALOG_SCOPE, type CacheVersions } from './cache-versions';
import { sessionDatabase } from './d1-session';
import { createDb } from './db';
import type { RegionInfo } from './store-context';

export type RegionDirectory = {
  regions: RegionInfo[];
  byCode: Map<string, RegionInfo>;
  byCountry: Map<string, RegionInfo>;
};

let memo: { version: number; directory: Promise<RegionDirectory> } | undefined;

export function getRegionDirectory(d1: D1Database, versions: CacheVersions): Promise<RegionDirectory> {
  const version = versions.of(CATALOG_SCOPE);
  if (memo?.version !== version) {
    // Read at least as new as the versions: a replica behind them must not be remembered under their version.
    const directory = loadRegionDirectory(sessionDatabase(d1, versions.bookmark ?? 'first-unconstrained'));
    memo = { version, directory };
    // A failed load must not be remembered: the next request tries again.
    directory.catch(() => {
      if (memo?.directory === directory) memo = undefined;
    });
  }
  return memo.directory;
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
