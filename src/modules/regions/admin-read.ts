import { asc, eq, inArray } from 'drizzle-orm';
import { regionCountries, regions } from '../../db/schema';
import { iso } from '../../lib/catalog-fields';
import type { Database } from '../../lib/db';
import { notFound } from '../../lib/errors';
import { afterCursor, paginate } from '../../lib/pagination';
import { rebuildsUnderWay } from '../storefront/rebuild';
import type { AdminRegion } from './admin-schemas';

const SORT = 'code';

export type RegionRow = typeof regions.$inferSelect;

/** `rebuildSince`: when the region's storefront rebuild under way was asked for (epoch ms), if one is. */
function serializeAdminRegion(row: RegionRow, countries: string[], rebuildSince?: number): AdminRegion {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    currency: row.currencyCode,
    tax_rate_bps: row.taxRateBps,
    prices_include_tax: row.pricesIncludeTax,
    locales: row.locales,
    countries: [...countries].sort(),
    storefront_rebuild_since: rebuildSince === undefined ? null : iso(new Date(rebuildSince)),
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
  };
}

async function countriesOf(db: Database, regionIds: string[]): Promise<Map<string, string[]>> {
  const byRegion = new Map<string, string[]>(regionIds.map((id) => [id, []]));
  if (regionIds.length === 0) return byRegion;
  const rows = await db.select().from(regionCountries).where(inArray(regionCountries.regionId, regionIds));
  for (const row of rows) byRegion.get(row.regionId)?.push(row.countryCode);
  return byRegion;
}

export async function getRegion(db: Database, id: string): Promise<AdminRegion> {
  const row = await db.select().from(regions).where(eq(regions.id, id)).get();
  if (!row) throw notFound('Region');
  const rebuilds = await rebuildsUnderWay(db, [id]);
  return serializeAdminRegion(row, (await countriesOf(db, [id])).get(id) ?? [], rebuilds.get(id));
}

export async function listRegions(db: Database, query: { limit: number; cursor?: string | undefined }) {
  const rows = await db
    .select()
    .from(regions)
    .where(afterCursor(regions.code, query.cursor, SORT))
    .orderBy(asc(regions.code))
    .limit(query.limit + 1);
  const page = paginate(rows, query.limit, SORT, (r) => [r.code]);
  const ids = page.data.map((r) => r.id);
  const countries = await countriesOf(db, ids);
  const rebuilds = await rebuildsUnderWay(db, ids);
  return {
    data: page.data.map((r) => serializeAdminRegion(r, countries.get(r.id) ?? [], rebuilds.get(r.id))),
    page: page.page,
  };
}
