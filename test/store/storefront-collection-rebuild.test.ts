/**
 * A collection's new product list changes the lanes of every product it lists now or listed before. With more of
 * them than one step holds, the change's own batch rebuilds the documents of all of them and the lanes of the
 * first products by id; the steps do the rest (src/modules/storefront/rebuild.ts), as after a region's change or
 * a category's move. Once the last step has run the read model equals the catalog (test/helpers/storefront.ts).
 * The steps here are three products; the collection lists products 0-9 (by id), then 5-14: fifteen products, the
 * change's batch and four steps.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { collections } from '../../src/db/schema';
import { systemCaller } from '../../src/lib/caller';
import { createDb } from '../../src/lib/db';
import { deleteCollection, updateCollection } from '../../src/modules/collections/admin-service';
import { storefrontConsumer } from '../../src/modules/storefront/consumer';
import { refreshStorefront } from '../../src/modules/storefront/projection';
import { continueStorefrontRebuilds, startDeletedListRebuild } from '../../src/modules/storefront/rebuild';
import {
  type AdminCollectionBody,
  admin,
  createCollection,
  createProduct,
  createRegion,
  rows,
} from '../helpers/admin-fixtures';
import { refreshReadModel } from '../helpers/catalog-fixtures';
import { deliverBatch, syntheticEnvelope } from '../helpers/events';
import { call } from '../helpers/http';
import {
  actualDocuments,
  capturedFor,
  expectedDocuments,
  expectStorefrontMatchesCatalog,
  listedIn,
  listingVersion,
  rebuildMarks,
  runRebuildStep,
  searchedIn,
  steppedEnv,
  untilDone,
} from '../helpers/storefront';

const STEP = 3;
const stepped = steppedEnv(STEP);
const caller = systemCaller('test', 'storefront-collection-rebuild-test');

let regionCode: string;

beforeAll(async () => {
  regionCode = (await createRegion({ currency: 'EUR', locales: ['en'], countries: [] })).code;
});

type Lists = { collection: AdminCollectionBody; before: string[]; after: string[]; byId: string[] };

/** Fifteen new products and a collection listing the first ten by id; `after` is the list it gets: the last ten. */
async function lists(): Promise<Lists> {
  const ids: string[] = [];
  for (let i = 0; i < 15; i++) {
    const product = await createProduct({
      status: 'active',
      translations: { en: { title: `Mug ${i}` } },
      variants: [
        {
          sku: `LISTED-${i}-${crypto.randomUUID()}`,
          title: 'One size',
          options: { Size: 'One size' },
          prices: [{ currency: 'EUR', amount: 1000 + i }],
        },
      ],
    });
    ids.push(product.id);
  }
  const byId = ids.sort();
  const before = byId.slice(0, 10);
  const collection = await createCollection({ product_ids: before });
  return { collection, before, after: byId.slice(5), byId };
}

/** `storefront_rebuild_since` of the collection as the admin API shows it, alone and in the list. */
async function rebuildSince(collection: AdminCollectionBody): Promise<string | null> {
  const res = await admin('GET', `/collections/${collection.id}`);
  expect(res.status).toBe(200);
  const one = (await res.json()) as AdminCollectionBody;
  const page = (await (await admin('GET', '/collections?limit=100')).json()) as {
    data: AdminCollectionBody[];
  };
  expect(page.data.find((c) => c.id === collection.id)?.storefront_rebuild_since).toBe(
    one.storefront_rebuild_since,
  );
  return one.storefront_rebuild_since;
}

async function relist(collection: AdminCollectionBody, productIds: string[], environment = stepped) {
  await updateCollection(environment, caller, collection.id, { product_ids: productIds }, ['product_ids']);
}

/** The storefront's listing of the collection, as a shopper gets it: product ids. */
async function storefrontListing(collection: AdminCollectionBody): Promise<string[]> {
  const res = await call(`/v1/store/products?limit=20&region=${regionCode}&collection=${collection.handle}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { id: string }[] }).data.map((p) => p.id).sort();
}

/** Those of `ids` up to `through` (in id order), and those after it. */
const split = (ids: string[], through: string) => [
  ids.filter((id) => id <= through),
  ids.filter((id) => id > through),
];

describe('a collection given a new product list covering more products than one step', () => {
  it('rebuilds every document and the first products’ lanes in its own batch; the steps do the rest, then move the listings’ version', async () => {
    const { collection, before, after, byId } = await lists();
    const versionBefore = await listingVersion();

    await relist(collection, after);

    const through = byId[STEP - 1] as string;
    expect(await rebuildMarks(collection.id)).toStrictEqual([
      {
        target: collection.id,
        after_product: through,
        requested_at: expect.any(Number),
      },
    ]);
    // Every product page shows the new list at once; the lanes past the mark still list the old one.
    expect(await actualDocuments()).toStrictEqual(await expectedDocuments());
    const [reachedNow] = split(after, through);
    const [, notYet] = split(before, through);
    expect(await listedIn(collection.id)).toStrictEqual([...(reachedNow ?? []), ...(notYet ?? [])].sort());
    expect(await storefrontListing(collection)).toStrictEqual(await listedIn(collection.id));
    const versionAfterChange = await listingVersion();
    expect(versionAfterChange).toBeGreaterThan(versionBefore);
    // Staff see that the storefront is catching up, and since when.
    const [mark] = await rebuildMarks(collection.id);
    expect(await rebuildSince(collection)).toBe(new Date(mark?.requested_at ?? 0).toISOString());

    expect(await continueStorefrontRebuilds(stepped, caller, untilDone())).toStrictEqual({
      steps: 4,
      pending: 0,
    });

    expect(await rebuildMarks(collection.id)).toStrictEqual([]);
    expect(await rebuildSince(collection)).toBeNull();
    expect(await listedIn(collection.id)).toStrictEqual(after);
    expect(await storefrontListing(collection)).toStrictEqual(after);
    expect(await listingVersion()).toBeGreaterThan(versionAfterChange);
    await expectStorefrontMatchesCatalog();
  });

  it('starts over from the first product when the list changes again before the last step', async () => {
    const { collection, before, after, byId } = await lists();
    await relist(collection, after);
    await continueStorefrontRebuilds(stepped, caller, { ...untilDone(), steps: 1 });
    const [first] = await rebuildMarks(collection.id);
    expect(first?.after_product).toBe(byId[2 * STEP - 1]);

    await relist(collection, before);

    // The walk starts over: the change's batch takes the first three by id of the products the collection
    // listed or lists (0-2, listed again).
    const [mark] = await rebuildMarks(collection.id);
    expect(mark?.after_product).toBe(byId[STEP - 1]);
    expect(mark?.requested_at).toBeGreaterThanOrEqual(first?.requested_at ?? 0);
    await continueStorefrontRebuilds(stepped, caller, untilDone());
    expect(await listedIn(collection.id)).toStrictEqual(before);
    await expectStorefrontMatchesCatalog();
  });

  it('does not keep a product written meanwhile waiting: its own write lists it as the collection says', async () => {
    const { collection, before, after } = await lists();
    await relist(collection, after);
    const leaving = before.filter((id) => !after.includes(id)).at(-1) as string;
    expect(await listedIn(collection.id)).toContain(leaving);

    const res = await admin('PATCH', `/products/${leaving}`, {
      translations: { en: { title: 'Renamed mug' } },
    });
    expect(res.status).toBe(200);

    expect(await listedIn(collection.id)).not.toContain(leaving);
    await continueStorefrontRebuilds(stepped, caller, untilDone());
    await expectStorefrontMatchesCatalog();
  });

  it('relists in steps the products of a collection deleted before the last step, those it listed before included', async () => {
    const { collection, after, byId } = await lists();
    await relist(collection, after);

    await deleteCollection(stepped, caller, collection.id);

    // Captured: what it lists (products 5-14) and what its lanes still listed from before (3-9: the new list's
    // first step had reached 0-2). The delete's own first step took 3-5.
    expect(await rebuildMarks(collection.id)).toStrictEqual([
      { target: collection.id, after_product: byId[5], requested_at: expect.any(Number) },
    ]);
    expect(await capturedFor(collection.id)).toStrictEqual(byId.slice(3));
    expect(await actualDocuments()).toStrictEqual(await expectedDocuments());
    // Its lanes keep, and full-text rows name it, until a step reaches them: nothing can ask for a collection
    // that is gone.
    expect(await listedIn(collection.id)).toStrictEqual(byId.slice(6, 10));
    expect(await searchedIn(collection.id)).toStrictEqual(byId.slice(6, 10));

    expect(await continueStorefrontRebuilds(stepped, caller, untilDone())).toStrictEqual({
      steps: 3,
      pending: 0,
    });
    expect(await listedIn(collection.id)).toStrictEqual([]);
    expect(
      await rows('SELECT lane FROM storefront_lanes WHERE collection_id = ?', collection.id),
    ).toStrictEqual([]);
    expect(await searchedIn(collection.id)).toStrictEqual([]);
    expect(await capturedFor(collection.id)).toStrictEqual([]);
    await expectStorefrontMatchesCatalog();
  });

  it('sets nothing back when a delete that lost a race commits after the winner: its batch takes the next step', async () => {
    const { collection, before } = await lists();
    await deleteCollection(stepped, caller, collection.id);
    const db = createDb(env.DB);
    const [first, ...rest] = [
      ...refreshStorefront(db, { leavingCollection: collection.id }),
      ...startDeletedListRebuild(db, { collection: collection.id }, STEP),
      db.delete(collections).where(eq(collections.id, collection.id)),
    ];

    if (first) await db.batch([first, ...rest]);

    expect(await rebuildMarks(collection.id)).toStrictEqual([
      { target: collection.id, after_product: before[2 * STEP - 1], requested_at: expect.any(Number) },
    ]);
    await continueStorefrontRebuilds(stepped, caller, untilDone());
    await expectStorefrontMatchesCatalog();
  });

  it('takes its lanes with it when deleted by SQL alone (by hand), as the cascade did', async () => {
    const { collection, before } = await lists();

    await env.DB.prepare('DELETE FROM collections WHERE id = ?').bind(collection.id).run();

    expect(
      await rows('SELECT lane FROM storefront_lanes WHERE collection_id = ?', collection.id),
    ).toStrictEqual([]);
    expect(await listedIn(collection.id)).toStrictEqual([]);
    // Nothing rebuilt its products: their full-text rows name it until they are written again.
    expect(await searchedIn(collection.id)).toStrictEqual(before);
    await refreshReadModel({ products: before });
    await expectStorefrontMatchesCatalog();
  });

  it('leaves the delete’s rebuild alone when a runner that read the new list’s mark steps after the delete', async () => {
    const { collection, after, byId } = await lists();
    await relist(collection, after);
    await deleteCollection(stepped, caller, collection.id);
    const marks = await rebuildMarks(collection.id);

    await runRebuildStep(createDb(env.DB), { collection: collection.id }, STEP);

    expect(await rebuildMarks(collection.id)).toStrictEqual(marks);
    expect(await capturedFor(collection.id)).toStrictEqual(byId.slice(3));
    await continueStorefrontRebuilds(stepped, caller, untilDone());
    expect(await searchedIn(collection.id)).toStrictEqual([]);
    await expectStorefrontMatchesCatalog();
  });

  it('is carried on by the storefront consumer when a deleted collection’s event is delivered', async () => {
    const { collection, before } = await lists();
    await deleteCollection(stepped, caller, collection.id);
    expect(await capturedFor(collection.id)).toStrictEqual(before);

    const delivered = await deliverBatch([syntheticEnvelope('collection.deleted', { id: collection.id })], {
      env: stepped,
      consumers: [storefrontConsumer],
    });

    expect(delivered.retried).toStrictEqual([]);
    expect(await rebuildMarks(collection.id)).toStrictEqual([]);
    expect(await searchedIn(collection.id)).toStrictEqual([]);
    await expectStorefrontMatchesCatalog();
  });

  it('leaves no mark when the products fit in one step', async () => {
    const { collection, after } = await lists();
    await relist(collection, after, { ...env, STOREFRONT_REBUILD_CHUNK: '1000' });

    expect(await rebuildMarks(collection.id)).toStrictEqual([]);
    expect(await listedIn(collection.id)).toStrictEqual(after);
    await expectStorefrontMatchesCatalog();
  });

  it('is carried on by the storefront consumer as soon as the collection event is delivered', async () => {
    const { collection, after } = await lists();
    await relist(collection, after);

    const delivered = await deliverBatch([syntheticEnvelope('collection.updated', { id: collection.id })], {
      env: stepped,
      consumers: [storefrontConsumer],
    });

    expect(delivered.retried).toStrictEqual([]);
    expect(await rebuildMarks(collection.id)).toStrictEqual([]);
    expect(await listedIn(collection.id)).toStrictEqual(after);
    await expectStorefrontMatchesCatalog();
  });
});
