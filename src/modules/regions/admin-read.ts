import { asc, eq, inArray } from 'drizzle-orm';
import { regionCountries, regions } from '../../db/schema';
import { iso } from '../../lib/catalog-fields';
import type { Database } from '../../lib/db';
import { notFound } from '../../lib/errors';
import { afterCursor, paginate } from '../../lib/pagination';
import { rebuildMarksOf, rebuildSinceByTarget } from '../storefront/rebuild';
import type { AdminRegion } from './admin-schemas';

const SORT = 'code';

export type RegionRow = typeof regions.$inferSelect;

/** `rebuildSince`: when the change the region's storefront is still catching up with was made. */
type RegionDetails = { countries: string[]; rebuildSince?: string };

function serializeAdminRegion(row: RegionRow, details: RegionDetails = { countries: [] }): AdminRegion {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    currency: row.currencyCode,
    tax_rate_bps: row.taxRateBps,
    prices_include_tax: row.pricesIncludeTax,
    locales: row.locales,
    countries: [...details.countries].sort(),
    storefront_rebuild_since: details.rebuildSince ?? null,
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
  };
}

/** Each region's countries and storefront rebuild under way, read in one round trip. */
async function detailsOf(db: Database, regionIds: string[]): Promise<Map<string, RegionDetails>> {
  const details = new Map<string, RegionDetails>(regionIds.map((id) => [id, { countries: [] }]));
  if (regionIds.length === 0) return details;
  const [countries, marks] = await db.batch([
    db.select().from(regionCountries).where(inArray(regionCountries.regionId, regionIds)),
    rebuildMarksOf(db, regionIds),
  ]);
  for (const row of countries) details.get(row.regionId)?.countries.push(row.countryCode);
  for (const [target, since] of rebuildSinceByTarget(marks)) {
    const region = details.get(target);
    if (region) region.rebuildSince = since;
  }
  return details;
}

export async function getRegion(db: Database, id: string): Promise<AdminRegion> {
  const row = await db.select().from(regions).where(eq(regions.id, id)).get();
  if (!row) throw notFound('Region');
  return serializeAdminRegion(row, (await detailsOf(db, [id])).get(id));
}

export async function listRegions(db: Database, query: { limit: number; cursor?: string | undefined }) {
  const rows = await db
    .select()
    .from(regions)
    .where(afterCursor(regions.code, query.cursor, SORT))
    .orderBy(asc(regions.code))
    .limit(query.limit + 1);
  const page = paginate(rows, query.limit, SORT, (r) => [r.code]);
  const details = await detailsOf(
    db,
    page.data.map((r) => r.id),
  );
  return { data: page.data.map((r) => serializeAdminRegion(r, details.get(r.id))), page: page.page };
}
