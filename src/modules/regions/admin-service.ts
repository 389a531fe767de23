/**
 * Region administration. A country belongs to at most one region (the region_countries primary key enforces
 * it); the service checks up front to name the conflicting countries, and a concurrent write that slips past
 * the check gets the same 409 from the constraint.
 *
 * Publishable keys name their default region by code (api_keys.default_region): a change of code moves their
 * default with it, in the same batch and audited on each key, and a region that an active key defaults to cannot
 * be deleted (409 region_has_publishable_keys), or those storefronts would silently sell in DEFAULT_REGION.
 *
 * Events (aggregate `region`, payload `{ id }`): region.created, region.updated, region.deleted.
 */
import { and, eq, inArray, isNull, ne, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { forgetPublishableKey } from '../../auth/publishable-key';
import { apiKeys, regionCountries, regions } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { CatalogVersionBump } from '../../lib/catalog-version-bumps';
import { type AuditRecord, commit } from '../../lib/commit';
import { chunkRows, onlyIf, valueTaken } from '../../lib/d1-writes';
import { createDb, type Database } from '../../lib/db';
import { AppError, conflict, notFound } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { applyPatch, auditChanges } from '../../lib/row-changes';
import { rebuildChunk, startRegionDeletion, startStorefrontRebuild } from '../storefront/rebuild';
import { getRegion, type RegionRow } from './admin-read';
import type { AdminRegion, CreateRegionInput, UpdateRegionInput } from './admin-schemas';

/** Countries of `countries` that regions other than `regionId` serve, with the code of that region. */
async function ownersOf(db: Database, regionId: string, countries: string[]): Promise<Map<string, string>> {
  const owners = new Map<string, string>();
  // Chunked: a region may list up to 250 countries, and D1 binds at most 100 parameters per statement.
  for (let i = 0; i < countries.length; i += 90) {
    const owned = await db
      .select({ country: regionCountries.countryCode, code: regions.code })
      .from(regionCountries)
      .innerJoin(regions, eq(regions.id, regionCountries.regionId))
      .where(
        and(
          inArray(regionCountries.countryCode, countries.slice(i, i + 90)),
          ne(regionCountries.regionId, regionId),
        ),
      );
    for (const o of owned) owners.set(o.country, o.code);
  }
  return owners;
}

/** 409s for a taken code or countries already served by another region. */
async function assertAvailable(db: Database, regionId: string, code?: string, countries?: string[]) {
  if (code !== undefined && (await valueTaken(db, regions.code, code, regions.id, regionId))) {
    throw conflict('code_taken', `Another region already has the code "${code}".`);
  }
  const owners = await ownersOf(db, regionId, countries ?? []);
  if (owners.size > 0) throw countryConflict(countries ?? [], owners);
}

async function findRegion(db: Database, id: string): Promise<RegionRow> {
  const row = await db.select().from(regions).where(eq(regions.id, id)).get();
  if (!row) throw notFound('Region');
  return row;
}

type RegionColumns = Omit<RegionRow, 'id' | 'createdAt' | 'updatedAt'>;

/** The columns a region body sets; a field left out of an update stays undefined and is not written. */
function regionColumns(input: CreateRegionInput): RegionColumns;
function regionColumns(input: UpdateRegionInput): Partial<RegionColumns>;
function regionColumns(input: UpdateRegionInput): Partial<RegionColumns> {
  return {
    code: input.code,
    name: input.name,
    currencyCode: input.currency,
    taxRateBps: input.tax_rate_bps,
    pricesIncludeTax: input.prices_include_tax,
    locales: input.locales,
  };
}

/** The region as it is before the update, once the update is known to be allowed. */
async function checkUpdate(db: Database, id: string, input: UpdateRegionInput): Promise<RegionRow> {
  const before = await findRegion(db, id);
  await assertAvailable(db, id, input.code, input.countries);
  return before;
}

function countryConflict(countries: string[], owners: Map<string, string>): AppError {
  return new AppError(409, 'country_in_other_region', 'A country can belong to only one region.', {
    errors: countries.flatMap((country, index) => {
      const owner = owners.get(country);
      return owner === undefined
        ? []
        : [
            {
              pointer: `/body/countries/${index}`,
              message: `${country} already belongs to region "${owner}"`,
            },
          ];
    }),
  });
}

/** The publishable keys defaulting to region `code`, revoked ones too (a rename moves those as well). */
function keysDefaultingTo(db: Database, code: string): Promise<{ id: string; revokedAt: Date | null }[]> {
  return db
    .select({ id: apiKeys.id, revokedAt: apiKeys.revokedAt })
    .from(apiKeys)
    .where(and(eq(apiKeys.kind, 'publishable'), eq(apiKeys.defaultRegion, code)));
}

/**
 * Moves the keys defaulting to region `id` to its new code. It reads the code in the batch, before the region's
 * own update: a key created, or a code changed, since the up-front reads is moved all the same.
 */
function moveKeysToCode(db: Database, id: string, code: string) {
  return db
    .update(apiKeys)
    .set({ defaultRegion: code })
    .where(
      eq(apiKeys.defaultRegion, sql`(SELECT ${regions.code} FROM ${regions} WHERE ${regions.id} = ${id})`),
    );
}

/** An audit entry on a publishable key whose default region moved from code `from` to `to`. */
const keyMoved = (keyId: string, from: string, to: string): AuditRecord => ({
  action: 'api_key.update',
  targetType: 'api_key',
  targetId: keyId,
  changes: { fields: [], row: { default_region: { from, to } } },
});

function countryInserts(db: Database, regionId: string, countries: string[]): BatchItem<'sqlite'>[] {
  const rows = countries.map((countryCode) => ({ countryCode, regionId }));
  return chunkRows(regionCountries, rows).map((chunk) => db.insert(regionCountries).values(chunk));
}

export async function createRegion(
  env: Env,
  caller: Caller,
  input: CreateRegionInput,
  fields: string[],
): Promise<AdminRegion> {
  const db = createDb(env.DB);
  const id = newId('reg');
  await assertAvailable(db, id, input.code, input.countries);
  const now = new Date();
  const row: RegionRow = { id, ...regionColumns(input), createdAt: now, updatedAt: now };
  await commit(db, caller, {
    statements: [
      db.insert(regions).values(row),
      ...countryInserts(db, id, input.countries),
      ...startStorefrontRebuild(db, { region: id }, rebuildChunk(env)),
    ],
    audit: {
      action: 'region.create',
      targetType: 'region',
      targetId: id,
      changes: auditChanges(regions, fields, null, row),
    },
    events: [{ type: 'region.created', aggregateType: 'region', aggregateId: id, payload: { id } }],
    recheck: () => assertAvailable(db, id, input.code, input.countries),
    versions: CatalogVersionBump.region(db),
  });
  // Read back: a large catalog leaves the storefront rebuild under way.
  return getRegion(db, id);
}

export async function updateRegion(
  env: Env,
  caller: Caller,
  id: string,
  input: UpdateRegionInput,
  fields: string[],
): Promise<AdminRegion> {
  const db = createDb(env.DB);
  const before = await checkUpdate(db, id, input);
  const patch = { ...regionColumns(input), updatedAt: new Date() };
  const after = applyPatch(before, patch);
  const changes = auditChanges(regions, fields, before, after);
  // Keys move with a code that changes; `changes` holds only what differs from the row read.
  const movedKeys = 'code' in changes.row ? await keysDefaultingTo(db, before.code) : [];
  const statements: BatchItem<'sqlite'>[] = [
    ...(input.code === undefined ? [] : [moveKeysToCode(db, id, input.code)]),
    db.update(regions).set(patch).where(eq(regions.id, id)),
  ];
  if (input.countries) {
    statements.push(
      db.delete(regionCountries).where(eq(regionCountries.regionId, id)),
      ...countryInserts(db, id, input.countries),
    );
  }
  // The currency and the locales decide the region's storefront rows; its name, tax and countries do not
  // (prices get the region's tax when read). Sent at all, not compared with the row read up front: a concurrent
  // update may have changed it since. A catalog larger than one chunk is finished in steps after the commit.
  if (input.currency !== undefined || input.locales !== undefined) {
    statements.push(...startStorefrontRebuild(db, { region: id }, rebuildChunk(env)));
  }
  await commit(db, caller, {
    statements,
    audit: [
      {
        action: 'region.update',
        targetType: 'region',
        targetId: id,
        changes,
      },
      ...movedKeys.map((key) => keyMoved(key.id, before.code, after.code)),
    ],
    events: [{ type: 'region.updated', aggregateType: 'region', aggregateId: id, payload: { id } }],
    recheck: async () => {
      await checkUpdate(db, id, input);
    },
    versions: CatalogVersionBump.region(db),
  });
  // Other isolates remember a key's old default for at most RESOLVE_TTL_MS, as they do a revoked key.
  for (const key of movedKeys) forgetPublishableKey(key.id);
  return getRegion(db, id);
}

/** The region as it is before the delete, once the delete is known to be allowed. */
async function checkDelete(db: Database, id: string): Promise<RegionRow> {
  const before = await findRegion(db, id);
  if ((await keysDefaultingTo(db, before.code)).some((key) => key.revokedAt === null)) {
    throw conflict(
      'region_has_publishable_keys',
      `Publishable keys sell in region "${before.code}" by default; revoke them first.`,
    );
  }
  return before;
}

/**
 * Fails the batch, before anything else in it, when an active publishable key defaults to region `id`: one may
 * have been created since the up-front check. Its code becomes NULL, which the NOT NULL column refuses.
 */
function noKeyDefaultsTo(db: Database, id: string) {
  const keyDefaults = sql`EXISTS (SELECT 1 FROM ${apiKeys} WHERE ${and(
    eq(apiKeys.defaultRegion, regions.code),
    isNull(apiKeys.revokedAt),
  )})`;
  return db
    .update(regions)
    .set({ code: onlyIf(sql`NOT ${keyDefaults}`, regions.code) })
    .where(eq(regions.id, id));
}

export async function deleteRegion(env: Env, caller: Caller, id: string): Promise<void> {
  const db = createDb(env.DB);
  const before = await checkDelete(db, id);
  const remove = db.delete(regions).where(eq(regions.id, id)).returning({ id: regions.id });
  const results = await commit(db, caller, {
    conditional: true,
    // Its countries and shipping options go with it (foreign keys cascade). Its storefront rows, too many for one
    // batch in a large catalog, go in steps from this batch on (rebuild.ts), started before the conditional
    // delete, which must stay last.
    statements: [noKeyDefaultsTo(db, id), ...startRegionDeletion(db, id, rebuildChunk(env)), remove],
    audit: {
      action: 'region.delete',
      targetType: 'region',
      targetId: id,
      changes: auditChanges(regions, [], before, null),
    },
    events: [{ type: 'region.deleted', aggregateType: 'region', aggregateId: id, payload: { id } }],
    recheck: async () => {
      await checkDelete(db, id);
    },
    versions: CatalogVersionBump.region(db),
  });
  const deleted = results.at(-1) as Awaited<typeof remove>;
  if (deleted.length === 0) throw notFound('Region');
}
