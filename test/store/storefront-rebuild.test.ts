/**
 * A region's currency or locale change rebuilds its storefront rows in steps when the catalog is larger than one
 * step (src/modules/storefront/rebuild.ts): the change's batch does the first products by id, the job and the
 * region events' consumer do the rest, and once the last step has run the read model equals the catalog
 * (test/helpers/storefront.ts), whatever was written meanwhile. The steps here are three products, so a catalog of
 * ten takes four.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { SEARCH_ORDERS } from '../../src/db/fts';
import { regions } from '../../src/db/schema';
import { EVENT_CONSUMERS } from '../../src/jobs/event-consumers';
import { CRON_JOBS } from '../../src/jobs/schedule';
import { runStorefrontRebuildJob } from '../../src/jobs/storefront-rebuild';
import { systemCaller } from '../../src/lib/caller';
import { createDb } from '../../src/lib/db';
import { deleteRegion, updateRegion } from '../../src/modules/regions/admin-service';
import { storefrontConsumer } from '../../src/modules/storefront/consumer';
import {
  continueStorefrontRebuilds,
  DEFAULT_REBUILD_CHUNK,
  MAX_REBUILD_CHUNK,
  rebuildChunk,
  startRegionDeletion,
} from '../../src/modules/storefront/rebuild';
import {
  type AdminProductBody,
  admin,
  createProduct,
  createRegion,
  ensureCurrencySold,
  rows,
} from '../helpers/admin-fixtures';
import { deliverBatch, syntheticEnvelope } from '../helpers/events';
import { call } from '../helpers/http';
import {
  actualEntries,
  actualOrderedSearchRows,
  actualSearchRows,
  actualTitleRows,
  expectStorefrontMatchesCatalog,
  rowsOutsideTheirOwners,
  runRebuildStep,
  steppedEnv,
  untilDone,
} from '../helpers/storefront';

const STEP = 3;
const stepped = steppedEnv(STEP);
const caller = systemCaller('test', 'storefront-rebuild-test');

let products: AdminProductBody[];
/** Product ids in the order the steps take them. */
let byId: string[];

beforeAll(async () => {
  await ensureCurrencySold('GBP');
  await ensureCurrencySold('USD');
  products = [];
  for (let i = 0; i < 10; i++) {
    products.push(
      await createProduct({
        status: 'active',
        translations: { en: { title: `Shirt ${i}` }, fr: { title: `Chemise ${i}` } },
        variants: [
          {
            sku: `REBUILD-${i}-${crypto.randomUUID()}`,
            title: 'M',
            options: { Size: 'M' },
            prices: [
              { currency: 'EUR', amount: 1000 + i },
              { currency: 'GBP', amount: 900 + i },
              { currency: 'USD', amount: 1100 + i },
            ],
          },
        ],
      }),
    );
  }
  byId = products.map((p) => p.id).sort();
});

type Mark = { region_id: string; after_product: string; requested_at: number };

type Price = { currency: string; amount: number };

const marks = async (regionId: string) =>
  (await rows(
    'SELECT region_id, after_product, requested_at FROM storefront_rebuilds WHERE region_id = ?',
    regionId,
  )) as Mark[];

/** The mark of a target's rebuild as a deletion's would be (no owner, `deleted_list` set). */
const deletionMark = (target: string) =>
  rows(
    'SELECT target, region_id, deleted_list, after_product FROM storefront_rebuilds WHERE target = ?',
    target,
  );

/**
 * What the read model still holds of a region: its lanes (by locale), entries and title rows (product and
 * locale), numbered pairs, and the pairs' rows in the full-text index and its price- and date-ordered copies (by
 * product), each sorted.
 */
async function regionRows(regionId: string) {
  const sorted = (values: string[]) => [...values].sort();
  const pairs = (await rows(
    'SELECT product_id FROM storefront_search_rows WHERE region_id = ?',
    regionId,
  )) as { product_id: string }[];
  const ordered = await Promise.all(SEARCH_ORDERS.map((order) => actualOrderedSearchRows(order)));
  return {
    lanes: sorted(
      (
        (await rows('SELECT locale FROM storefront_lanes WHERE region_id = ?', regionId)) as {
          locale: string;
        }[]
      ).map((l) => l.locale),
    ),
    entries: sorted(
      (await actualEntries())
        .filter((e) => e.region_id === regionId)
        .map((e) => `${e.product_id} ${e.locale}`),
    ),
    titleRows: sorted(
      (await actualTitleRows())
        .filter((t) => t.region_id === regionId)
        .map((t) => `${t.product_id} ${t.locale}`),
    ),
    pairs: sorted(pairs.map((p) => p.product_id)),
    searchRows: sorted(
      (await actualSearchRows()).filter((r) => r.region_id === regionId).map((r) => r.product_id),
    ),
    orderedRows: sorted(
      ordered
        .flat()
        .flatMap((r) => (r.region_id === regionId && r.product_id !== null ? [r.product_id] : [])),
    ),
  };
}

const NO_ROWS = { lanes: [], entries: [], titleRows: [], pairs: [], searchRows: [], orderedRows: [] };

/** Full-text rows (the index, its ordered copies, the title copy) whose pair or entry is gone: left behind. */
async function rowsOfNoPair() {
  const all = [
    ...(await actualSearchRows()),
    ...(await Promise.all(SEARCH_ORDERS.map((order) => actualOrderedSearchRows(order)))).flat(),
    ...(await actualTitleRows()),
  ];
  return all.filter((row) => row.region_id === null);
}

/** The region's entries of the whole-catalog lane in `locale`: product id -> cheapest price. */
async function prices(regionId: string, locale = 'en'): Promise<Record<string, number>> {
  const entries = (await actualEntries()).filter(
    (e) => e.region_id === regionId && e.locale === locale && e.list_id === '',
  );
  return Object.fromEntries(entries.map((e) => [e.product_id, e.min_price]));
}

const expectedPrices = (amounts: (i: number) => number, ids: string[]) =>
  Object.fromEntries(ids.map((id) => [id, amounts(products.findIndex((p) => p.id === id))]));

const catalogVersion = async () =>
  ((await rows(`SELECT version FROM cache_versions WHERE scope = 'catalog'`))[0]?.version as
    | number
    | undefined) ?? 0;

/** `storefront_rebuild_since` of the region as the admin API shows it, alone and in the list. */
async function regionRebuildSince(regionId: string): Promise<string | null> {
  const res = await admin('GET', `/regions/${regionId}`);
  expect(res.status).toBe(200);
  const one = (await res.json()) as { storefront_rebuild_since: string | null };
  const listed = (await (await admin('GET', '/regions?limit=100')).json()) as {
    data: { id: string; storefront_rebuild_since: string | null }[];
  };
  expect(listed.data.find((r) => r.id === regionId)?.storefront_rebuild_since).toBe(
    one.storefront_rebuild_since,
  );
  return one.storefront_rebuild_since;
}

async function changeRegion(regionId: string, input: Record<string, unknown>): Promise<void> {
  await updateRegion(stepped, caller, regionId, input, Object.keys(input));
}

describe('a region change on a catalog larger than one step', () => {
  it('rebuilds the first products in its own batch and leaves a mark; the steps do the rest, then move the cache version', async () => {
    const region = await createRegion({ currency: 'EUR', locales: ['en'], countries: [] });
    const versionBefore = await catalogVersion();

    await changeRegion(region.id, { currency: 'GBP' });

    expect(await marks(region.id)).toStrictEqual([
      { region_id: region.id, after_product: byId[STEP - 1], requested_at: expect.any(Number) },
    ]);
    // The first three products by id are in GBP already; the others keep their EUR rows until a step reaches them.
    expect(await prices(region.id)).toStrictEqual({
      ...expectedPrices((i) => 1000 + i, byId.slice(STEP)),
      ...expectedPrices((i) => 900 + i, byId.slice(0, STEP)),
    });
    const versionAfterChange = await catalogVersion();
    expect(versionAfterChange).toBeGreaterThan(versionBefore);
    // Staff see that the storefront is catching up, and since when.
    const [mark] = await marks(region.id);
    const since = new Date(mark?.requested_at ?? 0).toISOString();
    expect(await regionRebuildSince(region.id)).toBe(since);

    expect(await continueStorefrontRebuilds(stepped, caller, untilDone())).toStrictEqual({
      steps: 3,
      pending: 0,
    });

    expect(await marks(region.id)).toStrictEqual([]);
    expect(await regionRebuildSince(region.id)).toBeNull();
    expect(await prices(region.id)).toStrictEqual(expectedPrices((i) => 900 + i, byId));
    await expectStorefrontMatchesCatalog();
    expect(await catalogVersion()).toBeGreaterThan(versionAfterChange);
  });

  it('serves the region meanwhile: prices in the new currency, products not yet reached sorted by their old ones', async () => {
    const region = await createRegion({ currency: 'GBP', locales: ['en'], countries: [] });
    await changeRegion(region.id, { currency: 'EUR' });
    const listing = async () => {
      const res = await call(`/v1/store/products?limit=20&sort=price_asc&region=${region.code}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { data: { id: string; price_range: { min: Price } }[] };
      return body.data.map((p) => [p.id, p.price_range.min.currency, p.price_range.min.amount]);
    };
    const eur = (id: string) => [id, 'EUR', 1000 + products.findIndex((p) => p.id === id)];

    // The first three by id are sorted by EUR (1000-1002); the rest still by GBP (903-909), so they come first.
    expect(await listing()).toStrictEqual([...byId.slice(STEP), ...byId.slice(0, STEP)].map(eur));
    await continueStorefrontRebuilds(stepped, caller, untilDone());
    expect(await listing()).toStrictEqual(byId.map(eur));
  });

  it('drops the lanes of a locale the region no longer offers once the last step has run', async () => {
    const region = await createRegion({ currency: 'EUR', locales: ['en', 'fr'], countries: [] });
    await changeRegion(region.id, { locales: ['fr'] });

    // The English lane still lists the products no step has reached: no shopper is served it (the region does
    // not offer English any more), and it goes with the last step.
    expect(Object.keys(await prices(region.id, 'en')).sort()).toStrictEqual(byId.slice(STEP));
    await continueStorefrontRebuilds(stepped, caller, untilDone());

    expect(await rowsOutsideTheirOwners()).toStrictEqual([]);
    expect(Object.keys(await prices(region.id, 'fr')).sort()).toStrictEqual(byId);
    await expectStorefrontMatchesCatalog();
  });

  it('does not keep a product written meanwhile waiting: its own write rebuilds its rows', async () => {
    const region = await createRegion({ currency: 'EUR', locales: ['en'], countries: [] });
    await changeRegion(region.id, { currency: 'USD' });
    const last = byId.at(-1) as string;

    const res = await admin('PATCH', `/products/${last}`, {
      translations: { en: { title: 'Renamed shirt' } },
    });
    expect(res.status).toBe(200);

    const entry = (await actualEntries()).find(
      (e) => e.region_id === region.id && e.list_id === '' && e.product_id === last,
    );
    expect(entry).toMatchObject({
      title: 'Renamed shirt',
      min_price: 1100 + products.findIndex((p) => p.id === last),
    });
    await continueStorefrontRebuilds(stepped, caller, untilDone());
    await expectStorefrontMatchesCatalog();
  });

  it('starts over from the first product when the region changes again before the last step', async () => {
    const region = await createRegion({ currency: 'EUR', locales: ['en'], countries: [] });
    await changeRegion(region.id, { currency: 'GBP' });
    expect(await continueStorefrontRebuilds(stepped, caller, { ...untilDone(), steps: 1 })).toStrictEqual({
      steps: 1,
      pending: 1,
    });
    const [first] = await marks(region.id);
    expect(first?.after_product).toBe(byId[2 * STEP - 1]);

    await changeRegion(region.id, { currency: 'USD' });

    expect(await marks(region.id)).toStrictEqual([
      { region_id: region.id, after_product: byId[STEP - 1], requested_at: expect.any(Number) },
    ]);
    expect((await marks(region.id))[0]?.requested_at).toBeGreaterThanOrEqual(first?.requested_at ?? 0);
    await continueStorefrontRebuilds(stepped, caller, untilDone());
    expect(await prices(region.id)).toStrictEqual(expectedPrices((i) => 1100 + i, byId));
    await expectStorefrontMatchesCatalog();
  });

  it('stops at its deadline and goes on at the next run', async () => {
    const region = await createRegion({ currency: 'EUR', locales: ['en'], countries: [] });
    await changeRegion(region.id, { currency: 'GBP' });

    expect(await continueStorefrontRebuilds(stepped, caller, { deadline: 0 })).toStrictEqual({
      steps: 0,
      pending: 1,
    });
    expect(await marks(region.id)).toHaveLength(1);
    expect(await continueStorefrontRebuilds(stepped, caller, untilDone())).toStrictEqual({
      steps: 3,
      pending: 0,
    });
    await expectStorefrontMatchesCatalog();
  });

  it('comes out right with two runners stepping at once', async () => {
    const region = await createRegion({ currency: 'EUR', locales: ['en', 'fr'], countries: [] });
    await changeRegion(region.id, { currency: 'USD', locales: ['fr'] });

    await Promise.all([
      continueStorefrontRebuilds(stepped, caller, untilDone()),
      continueStorefrontRebuilds(stepped, caller, untilDone()),
    ]);

    expect(await marks(region.id)).toStrictEqual([]);
    expect(await rowsOutsideTheirOwners()).toStrictEqual([]);
    await expectStorefrontMatchesCatalog();
  });

  it("gives way to the region's deletion when it is deleted before the last step", async () => {
    const region = await createRegion({ currency: 'EUR', locales: ['en'], countries: [] });
    await changeRegion(region.id, { currency: 'GBP' });
    expect(await continueStorefrontRebuilds(stepped, caller, { ...untilDone(), steps: 1 })).toStrictEqual({
      steps: 1,
      pending: 1,
    });

    await deleteRegion(stepped, caller, region.id);

    // The deletion's steps start over from the first product: the rebuild's had passed some.
    expect(await marks(region.id)).toStrictEqual([]);
    expect(await deletionMark(region.id)).toStrictEqual([
      { target: region.id, region_id: null, deleted_list: 'region', after_product: byId[STEP - 1] },
    ]);
    expect(await continueStorefrontRebuilds(stepped, caller, untilDone())).toStrictEqual({
      steps: 3,
      pending: 0,
    });
    expect(await regionRows(region.id)).toStrictEqual(NO_ROWS);
    await expectStorefrontMatchesCatalog();
  });

  it('leaves no mark when the catalog fits in one step', async () => {
    const region = await createRegion({ currency: 'EUR', locales: ['en'], countries: [] });
    await updateRegion({ ...env, STOREFRONT_REBUILD_CHUNK: '1000' }, caller, region.id, { currency: 'GBP' }, [
      'currency',
    ]);

    expect(await marks(region.id)).toStrictEqual([]);
    await expectStorefrontMatchesCatalog();
  });
});

describe('a region deleted from a catalog larger than one step', () => {
  it('is gone at once; its first products lose their rows in its batch, the steps take the rest, then its lanes', async () => {
    const region = await createRegion({ currency: 'EUR', locales: ['en', 'fr'], countries: [] });
    const versionBefore = await catalogVersion();

    await deleteRegion(stepped, caller, region.id);

    expect((await admin('GET', `/regions/${region.id}`)).status).toBe(404);
    const listing = await call(`/v1/store/products?region=${region.code}`);
    expect(listing.status).toBe(422);
    expect(((await listing.json()) as { code: string }).code).toBe('unknown_region');
    const versionAfterDelete = await catalogVersion();
    expect(versionAfterDelete).toBeGreaterThan(versionBefore);
    expect(await deletionMark(region.id)).toStrictEqual([
      { target: region.id, region_id: null, deleted_list: 'region', after_product: byId[STEP - 1] },
    ]);
    // Two locales: an entry, a title row in each; one pair and its full-text rows per product.
    const rest = byId.slice(STEP);
    expect(await regionRows(region.id)).toStrictEqual({
      lanes: ['en', 'fr'],
      entries: rest.flatMap((id) => [`${id} en`, `${id} fr`]).sort(),
      titleRows: rest.flatMap((id) => [`${id} en`, `${id} fr`]).sort(),
      pairs: rest,
      searchRows: rest,
      orderedRows: rest.flatMap((id) => [id, id]).sort(),
    });
    expect(await rowsOfNoPair()).toStrictEqual([]);

    expect(await continueStorefrontRebuilds(stepped, caller, untilDone())).toStrictEqual({
      steps: 3,
      pending: 0,
    });

    expect(await deletionMark(region.id)).toStrictEqual([]);
    expect(await regionRows(region.id)).toStrictEqual(NO_ROWS);
    // Its own batch moved the version: no listing showed the rows the steps deleted.
    expect(await catalogVersion()).toBe(versionAfterDelete);
    await expectStorefrontMatchesCatalog();
  });

  it("leaves a product written meanwhile no rows in it, and the steps the product's pair", async () => {
    const region = await createRegion({ currency: 'EUR', locales: ['en'], countries: [] });
    await deleteRegion(stepped, caller, region.id);
    const last = byId.at(-1) as string;

    const res = await admin('PATCH', `/products/${last}`, {
      translations: { en: { title: 'Renamed shirt' } },
    });
    expect(res.status).toBe(200);

    const left = await regionRows(region.id);
    expect(left.entries).toStrictEqual(byId.slice(STEP, -1).map((id) => `${id} en`));
    expect(left.searchRows).toStrictEqual(byId.slice(STEP, -1));
    expect(left.pairs).toStrictEqual(byId.slice(STEP));
    await continueStorefrontRebuilds(stepped, caller, untilDone());
    expect(await regionRows(region.id)).toStrictEqual(NO_ROWS);
    await expectStorefrontMatchesCatalog();
  });

  it('comes out right with two runners stepping at once', async () => {
    const region = await createRegion({ currency: 'EUR', locales: ['en', 'fr'], countries: [] });
    await deleteRegion(stepped, caller, region.id);

    await Promise.all([
      continueStorefrontRebuilds(stepped, caller, untilDone()),
      continueStorefrontRebuilds(stepped, caller, untilDone()),
    ]);

    expect(await deletionMark(region.id)).toStrictEqual([]);
    expect(await regionRows(region.id)).toStrictEqual(NO_ROWS);
    await expectStorefrontMatchesCatalog();
  });

  it('leaves no mark and no rows when the catalog fits in one step', async () => {
    const region = await createRegion({ currency: 'EUR', locales: ['en'], countries: [] });

    await deleteRegion({ ...env, STOREFRONT_REBUILD_CHUNK: '1000' }, caller, region.id);

    expect(await deletionMark(region.id)).toStrictEqual([]);
    expect(await regionRows(region.id)).toStrictEqual(NO_ROWS);
    await expectStorefrontMatchesCatalog();
  });

  it('takes the same steps when the region is deleted by SQL alone (an older Worker, or by hand)', async () => {
    const region = await createRegion({ currency: 'EUR', locales: ['en'], countries: [] });
    await changeRegion(region.id, { currency: 'GBP' });

    await env.DB.prepare('DELETE FROM regions WHERE id = ?').bind(region.id).run();

    // The rebuild's mark went with the region; the deletion's starts from the first product.
    expect(await deletionMark(region.id)).toStrictEqual([
      { target: region.id, region_id: null, deleted_list: 'region', after_product: '' },
    ]);
    expect(await continueStorefrontRebuilds(stepped, caller, untilDone())).toStrictEqual({
      steps: 4,
      pending: 0,
    });
    expect(await regionRows(region.id)).toStrictEqual(NO_ROWS);
    await expectStorefrontMatchesCatalog();
  });

  it('sets nothing back when a delete that lost a race commits after the winner: its batch takes the next step', async () => {
    const region = await createRegion({ currency: 'EUR', locales: ['en'], countries: [] });
    await deleteRegion(stepped, caller, region.id);
    // What the losing request commits, having found the region before the winner's batch.
    const db = createDb(env.DB);
    const losersBatch = async () => {
      const [mark, ...step] = startRegionDeletion(db, region.id, STEP);
      if (mark) await db.batch([mark, ...step, db.delete(regions).where(eq(regions.id, region.id))]);
    };

    await losersBatch();

    expect(await deletionMark(region.id)).toStrictEqual([
      { target: region.id, region_id: null, deleted_list: 'region', after_product: byId[2 * STEP - 1] },
    ]);
    await continueStorefrontRebuilds(stepped, caller, untilDone());
    // Once the deletion is done, a loser's batch starts no walk of every product again.
    await losersBatch();
    expect(await deletionMark(region.id)).toStrictEqual([]);
    expect(await regionRows(region.id)).toStrictEqual(NO_ROWS);
  });

  it("leaves the deletion alone when a runner that read the region's rebuild mark steps after the delete", async () => {
    const region = await createRegion({ currency: 'EUR', locales: ['en', 'fr'], countries: [] });
    await changeRegion(region.id, { currency: 'GBP' });
    await deleteRegion(stepped, caller, region.id);
    const [mark, left] = [await deletionMark(region.id), await regionRows(region.id)];

    await runRebuildStep(createDb(env.DB), { region: region.id }, STEP);

    expect(await deletionMark(region.id)).toStrictEqual(mark);
    expect(await regionRows(region.id)).toStrictEqual(left);
    await continueStorefrontRebuilds(stepped, caller, untilDone());
    expect(await regionRows(region.id)).toStrictEqual(NO_ROWS);
    await expectStorefrontMatchesCatalog();
  });
});

describe('the size of a step', () => {
  it.each([
    ['1000', 1000],
    ['3', 3],
    ['10000', MAX_REBUILD_CHUNK],
    ['250000', MAX_REBUILD_CHUNK],
    ['0', DEFAULT_REBUILD_CHUNK],
    ['-5', DEFAULT_REBUILD_CHUNK],
    ['1.5', DEFAULT_REBUILD_CHUNK],
    ['many', DEFAULT_REBUILD_CHUNK],
    ['', DEFAULT_REBUILD_CHUNK],
  ])('STOREFRONT_REBUILD_CHUNK=%j makes steps of %i products', (value, chunk) => {
    expect(rebuildChunk({ STOREFRONT_REBUILD_CHUNK: value })).toBe(chunk);
  });
});

describe('what carries a rebuild on', () => {
  it('is registered: the job on the minute trigger, the consumer on the event queue', () => {
    expect(CRON_JOBS['* * * * *']).toContain(runStorefrontRebuildJob);
    expect(EVENT_CONSUMERS).toContain(storefrontConsumer);
  });

  it('the region events’ consumer, as soon as the change is delivered', async () => {
    const region = await createRegion({ currency: 'EUR', locales: ['en'], countries: [] });
    await changeRegion(region.id, { currency: 'GBP' });

    const delivered = await deliverBatch([syntheticEnvelope('region.updated', { id: region.id })], {
      env: stepped,
      consumers: [storefrontConsumer],
    });

    expect(delivered.retried).toStrictEqual([]);
    expect(await marks(region.id)).toStrictEqual([]);
    await expectStorefrontMatchesCatalog();
  });

  it("the region events' consumer on its delete: the deletion's steps", async () => {
    const region = await createRegion({ currency: 'EUR', locales: ['en'], countries: [] });
    await deleteRegion(stepped, caller, region.id);

    const delivered = await deliverBatch([syntheticEnvelope('region.deleted', { id: region.id })], {
      env: stepped,
      consumers: [storefrontConsumer],
    });

    expect(delivered.retried).toStrictEqual([]);
    expect(await deletionMark(region.id)).toStrictEqual([]);
    expect(await regionRows(region.id)).toStrictEqual(NO_ROWS);
    await expectStorefrontMatchesCatalog();
  });

  it('the storefront-rebuild cron job', async () => {
    const region = await createRegion({ currency: 'EUR', locales: ['en'], countries: [] });
    await changeRegion(region.id, { locales: ['en', 'fr'] });

    await runStorefrontRebuildJob(stepped);

    expect(await marks(region.id)).toStrictEqual([]);
    expect(Object.keys(await prices(region.id, 'fr')).sort()).toStrictEqual(byId);
    await expectStorefrontMatchesCatalog();
  });
});
