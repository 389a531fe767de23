/**
 * A category moved under another parent gives every product in it or below it other ancestors, so other lanes.
 * With more of them than one step holds, the move's own batch relists the first products by id and the steps do
 * the rest (src/modules/storefront/rebuild.ts), as after a region's change; once the last step has run the read
 * model equals the catalog (test/helpers/storefront.ts). The steps here are three products, so the ten products
 * of the moved category take four.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { categories } from '../../src/db/schema';
import { systemCaller } from '../../src/lib/caller';
import { createDb } from '../../src/lib/db';
import { deleteCategory, updateCategory } from '../../src/modules/categories/admin-service';
import { storefrontConsumer } from '../../src/modules/storefront/consumer';
import { refreshStorefront } from '../../src/modules/storefront/projection';
import { continueStorefrontRebuilds, startDeletedListRebuild } from '../../src/modules/storefront/rebuild';
import {
  type AdminCategoryBody,
  type AdminProductBody,
  admin,
  createCategory,
  createProduct,
  createRegion,
  rows,
} from '../helpers/admin-fixtures';
import { refreshReadModel } from '../helpers/catalog-fixtures';
import { deliverBatch, syntheticEnvelope } from '../helpers/events';
import { call } from '../helpers/http';
import { logLines } from '../helpers/request-cost';
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
const caller = systemCaller('test', 'storefront-category-rebuild-test');

type Tree = { from: AdminCategoryBody; to: AdminCategoryBody; moved: AdminCategoryBody; byId: string[] };

let regionCode: string;

beforeAll(async () => {
  regionCode = (await createRegion({ currency: 'EUR', locales: ['en'], countries: [] })).code;
});

/** A category `moved` under `from` holding ten products, and another top-level category `to`. */
async function tree(): Promise<Tree> {
  const from = await createCategory();
  const to = await createCategory();
  const moved = await createCategory({ parent_id: from.id });
  const products: AdminProductBody[] = [];
  for (let i = 0; i < 10; i++) {
    products.push(
      await createProduct({
        status: 'active',
        category_ids: [moved.id],
        translations: { en: { title: `Tee ${i}` } },
        variants: [
          {
            sku: `MOVED-${i}-${crypto.randomUUID()}`,
            title: 'M',
            options: { Size: 'M' },
            prices: [{ currency: 'EUR', amount: 1000 + i }],
          },
        ],
      }),
    );
  }
  return { from, to, moved, byId: products.map((p) => p.id).sort() };
}

/** `storefront_rebuild_since` of the category as the admin API shows it, alone and in its parent's list. */
async function rebuildSince(category: AdminCategoryBody, parentId: string): Promise<string | null> {
  const res = await admin('GET', `/categories/${category.id}`);
  expect(res.status).toBe(200);
  const one = (await res.json()) as AdminCategoryBody;
  const listed = (await (await admin('GET', `/categories?parent_id=${parentId}&limit=100`)).json()) as {
    data: AdminCategoryBody[];
  };
  expect(listed.data.find((c) => c.id === category.id)?.storefront_rebuild_since).toBe(
    one.storefront_rebuild_since,
  );
  return one.storefront_rebuild_since;
}

async function move(category: AdminCategoryBody, parentId: string | null): Promise<void> {
  await updateCategory(stepped, caller, category.id, { parent_id: parentId }, ['parent_id']);
}

/** The storefront's listing of a category, as a shopper gets it: product ids, newest first. */
async function storefrontListing(category: AdminCategoryBody): Promise<string[]> {
  const res = await call(`/v1/store/products?limit=20&region=${regionCode}&category=${category.handle}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { id: string }[] }).data.map((p) => p.id).sort();
}

describe('a category moved with more products than one step', () => {
  it('lists the first products under the new parent in its own batch; the steps do the rest, then move the listings’ version', async () => {
    const { from, to, moved, byId } = await tree();
    const versionBefore = await listingVersion();

    await move(moved, to.id);

    expect(await rebuildMarks(moved.id)).toStrictEqual([
      {
        target: moved.id,
        after_product: byId[STEP - 1],
        requested_at: expect.any(Number),
      },
    ]);
    // The first three by id are under the new parent; the others stay under the old one until a step comes.
    expect(await listedIn(to.id)).toStrictEqual(byId.slice(0, STEP));
    expect(await listedIn(from.id)).toStrictEqual(byId.slice(STEP));
    expect(await listedIn(moved.id)).toStrictEqual(byId);
    expect(await storefrontListing(to)).toStrictEqual(byId.slice(0, STEP));
    const versionAfterMove = await listingVersion();
    expect(versionAfterMove).toBeGreaterThan(versionBefore);
    // Staff see that the storefront is catching up, and since when.
    const [mark] = await rebuildMarks(moved.id);
    expect(await rebuildSince(moved, to.id)).toBe(new Date(mark?.requested_at ?? 0).toISOString());

    expect(await continueStorefrontRebuilds(stepped, caller, untilDone())).toStrictEqual({
      steps: 3,
      pending: 0,
    });

    expect(await rebuildMarks(moved.id)).toStrictEqual([]);
    expect(await rebuildSince(moved, to.id)).toBeNull();
    expect(await listedIn(to.id)).toStrictEqual(byId);
    expect(await listedIn(from.id)).toStrictEqual([]);
    expect(await storefrontListing(to)).toStrictEqual(byId);
    expect(await storefrontListing(from)).toStrictEqual([]);
    expect(await listingVersion()).toBeGreaterThan(versionAfterMove);
    await expectStorefrontMatchesCatalog();
  });

  it('starts over from the first product when the category moves again before the last step', async () => {
    const { from, to, moved, byId } = await tree();
    await move(moved, to.id);
    await continueStorefrontRebuilds(stepped, caller, { ...untilDone(), steps: 1 });
    expect((await rebuildMarks(moved.id))[0]?.after_product).toBe(byId[2 * STEP - 1]);

    await move(moved, null);

    expect((await rebuildMarks(moved.id))[0]?.after_product).toBe(byId[STEP - 1]);
    // Six products were listed under `to` by the first move; the second move's first step took three away.
    expect(await listedIn(to.id)).toStrictEqual(byId.slice(STEP, 2 * STEP));
    await continueStorefrontRebuilds(stepped, caller, untilDone());
    expect(await listedIn(to.id)).toStrictEqual([]);
    expect(await listedIn(from.id)).toStrictEqual([]);
    expect(await listedIn(moved.id)).toStrictEqual(byId);
    await expectStorefrontMatchesCatalog();
  });

  it('does not keep a product written meanwhile waiting: its own write lists it where it belongs', async () => {
    const { to, moved, byId } = await tree();
    await move(moved, to.id);
    const last = byId.at(-1) as string;

    const res = await admin('PATCH', `/products/${last}`, { translations: { en: { title: 'Renamed tee' } } });
    expect(res.status).toBe(200);

    expect(await listedIn(to.id)).toStrictEqual([...byId.slice(0, STEP), last]);
    await continueStorefrontRebuilds(stepped, caller, untilDone());
    await expectStorefrontMatchesCatalog();
  });

  it('relists in steps the products of a category deleted before the last step of its move', async () => {
    const { from, to, moved, byId } = await tree();
    await move(moved, to.id);

    await deleteCategory(stepped, caller, moved.id);

    // The move's rebuild became the delete's: from the first product again, its own first step done.
    expect(await rebuildMarks(moved.id)).toStrictEqual([
      { target: moved.id, after_product: byId[STEP - 1], requested_at: expect.any(Number) },
    ]);
    expect(await listedIn(to.id)).toStrictEqual([]);
    expect(await listedIn(from.id)).toStrictEqual(byId.slice(STEP));
    await continueStorefrontRebuilds(stepped, caller, untilDone());
    expect(await listedIn(from.id)).toStrictEqual([]);
    expect(await capturedFor(moved.id)).toStrictEqual([]);
    await expectStorefrontMatchesCatalog();
  });

  it('leaves the delete’s rebuild alone when a runner that read the move’s mark steps after the delete', async () => {
    const { from, to, moved, byId } = await tree();
    await move(moved, to.id);
    await deleteCategory(stepped, caller, moved.id);
    const marks = await rebuildMarks(moved.id);

    // The runner's step, built for the move: the category's links are gone, so its walk finds nothing, and
    // without a check of the mark's kind it would end the delete's rebuild as done.
    await runRebuildStep(createDb(env.DB), { category: moved.id }, STEP);

    expect(await rebuildMarks(moved.id)).toStrictEqual(marks);
    expect(await capturedFor(moved.id)).toStrictEqual(byId);
    await continueStorefrontRebuilds(stepped, caller, untilDone());
    expect(await listedIn(from.id)).toStrictEqual([]);
    await expectStorefrontMatchesCatalog();
  });

  it('leaves no mark when the products fit in one step', async () => {
    const { to, moved, byId } = await tree();
    await updateCategory(
      { ...env, STOREFRONT_REBUILD_CHUNK: '1000' },
      caller,
      moved.id,
      { parent_id: to.id },
      ['parent_id'],
    );

    expect(await rebuildMarks(moved.id)).toStrictEqual([]);
    expect(await listedIn(to.id)).toStrictEqual(byId);
    await expectStorefrontMatchesCatalog();
  });

  it('is carried on by the storefront consumer as soon as the category event is delivered', async () => {
    const { to, moved, byId } = await tree();
    await move(moved, to.id);

    const delivered = await deliverBatch([syntheticEnvelope('category.updated', { id: moved.id })], {
      env: stepped,
      consumers: [storefrontConsumer],
    });

    expect(delivered.retried).toStrictEqual([]);
    expect(await rebuildMarks(moved.id)).toStrictEqual([]);
    expect(await listedIn(to.id)).toStrictEqual(byId);
    await expectStorefrontMatchesCatalog();
  });
});

describe('a leaf category deleted with more products than one step', () => {
  it('rebuilds its products’ documents in its own batch and their other lanes and full-text rows in steps', async () => {
    const { from, moved, byId } = await tree();
    const versionBefore = await listingVersion();

    await deleteCategory(stepped, caller, moved.id);

    expect((await admin('GET', `/categories/${moved.id}`)).status).toBe(404);
    expect(await rebuildMarks(moved.id)).toStrictEqual([
      { target: moved.id, after_product: byId[STEP - 1], requested_at: expect.any(Number) },
    ]);
    expect(await capturedFor(moved.id)).toStrictEqual(byId);
    // Product pages no longer name it at once; its parent lists the products no step has reached yet, and its own
    // lanes keep them (nothing can ask for a category that is gone).
    expect(await actualDocuments()).toStrictEqual(await expectedDocuments());
    expect(await listedIn(moved.id)).toStrictEqual(byId.slice(STEP));
    expect(await listedIn(from.id)).toStrictEqual(byId.slice(STEP));
    expect(await searchedIn(from.id)).toStrictEqual(byId.slice(STEP));
    expect(await storefrontListing(from)).toStrictEqual(byId.slice(STEP));
    const versionAfterDelete = await listingVersion();
    expect(versionAfterDelete).toBeGreaterThan(versionBefore);

    expect(await continueStorefrontRebuilds(stepped, caller, untilDone())).toStrictEqual({
      steps: 3,
      pending: 0,
    });

    expect(await rebuildMarks(moved.id)).toStrictEqual([]);
    expect(await capturedFor(moved.id)).toStrictEqual([]);
    expect(await listedIn(moved.id)).toStrictEqual([]);
    expect(await rows('SELECT lane FROM storefront_lanes WHERE category_id = ?', moved.id)).toStrictEqual([]);
    expect(await listedIn(from.id)).toStrictEqual([]);
    expect(await searchedIn(from.id)).toStrictEqual([]);
    expect(await storefrontListing(from)).toStrictEqual([]);
    expect(await listingVersion()).toBeGreaterThan(versionAfterDelete);
    await expectStorefrontMatchesCatalog();
  });

  it('captures the products its lanes still list from a subcategory moved out, and leaves them to its steps', async () => {
    const { from, to, moved, byId } = await tree();
    await move(moved, to.id);

    // `from` is a leaf now; its lanes still list the moved subcategory's products no step of the move has reached.
    await deleteCategory(stepped, caller, from.id);

    expect(await capturedFor(from.id)).toStrictEqual(byId.slice(STEP));
    // Its batch took the first three of them out of its lanes, and cascaded none of the others.
    expect(await listedIn(from.id)).toStrictEqual(byId.slice(2 * STEP));
    await continueStorefrontRebuilds(stepped, caller, untilDone());
    expect(await listedIn(from.id)).toStrictEqual([]);
    expect(await listedIn(to.id)).toStrictEqual(byId);
    await expectStorefrontMatchesCatalog();
  });

  it('sets nothing back when a delete that lost a race commits after the winner: its batch takes the next step', async () => {
    const { moved, byId } = await tree();
    await deleteCategory(stepped, caller, moved.id);
    const db = createDb(env.DB);
    const [first, ...rest] = [
      ...refreshStorefront(db, { leavingCategory: moved.id }),
      ...startDeletedListRebuild(db, { category: moved.id }, STEP),
      db.delete(categories).where(eq(categories.id, moved.id)),
    ];

    if (first) await db.batch([first, ...rest]);

    expect(await rebuildMarks(moved.id)).toStrictEqual([
      { target: moved.id, after_product: byId[2 * STEP - 1], requested_at: expect.any(Number) },
    ]);
    await continueStorefrontRebuilds(stepped, caller, untilDone());
    await expectStorefrontMatchesCatalog();
  });

  it('takes its lanes with it when deleted by SQL alone (by hand), as the cascade did', async () => {
    const { from, moved, byId } = await tree();

    await env.DB.prepare('DELETE FROM categories WHERE id = ?').bind(moved.id).run();

    expect(await rows('SELECT lane FROM storefront_lanes WHERE category_id = ?', moved.id)).toStrictEqual([]);
    expect(await listedIn(moved.id)).toStrictEqual([]);
    // Nothing rebuilt its products: its parent still lists them until they are written again.
    expect(await listedIn(from.id)).toStrictEqual(byId);
    await refreshReadModel({ products: byId });
    await expectStorefrontMatchesCatalog();
  });

  it('does not keep a product written meanwhile waiting: its own write takes it out of the ancestors’ lanes', async () => {
    const { from, moved, byId } = await tree();
    await deleteCategory(stepped, caller, moved.id);
    const last = byId.at(-1) as string;

    const res = await admin('PATCH', `/products/${last}`, { translations: { en: { title: 'Renamed tee' } } });
    expect(res.status).toBe(200);

    expect(await listedIn(from.id)).toStrictEqual(byId.slice(STEP, -1));
    await continueStorefrontRebuilds(stepped, caller, untilDone());
    expect(await listedIn(from.id)).toStrictEqual([]);
    await expectStorefrontMatchesCatalog();
  });

  it('ends equal to the catalog when two deletes of it race, one of them a 404', async () => {
    const { from, moved } = await tree();

    const results = await Promise.allSettled([
      deleteCategory(stepped, caller, moved.id),
      deleteCategory(stepped, caller, moved.id),
    ]);

    expect(results.map((r) => r.status).sort()).toStrictEqual(['fulfilled', 'rejected']);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ status: 404, code: 'not_found' });
    await continueStorefrontRebuilds(stepped, caller, untilDone());
    expect(await rebuildMarks(moved.id)).toStrictEqual([]);
    expect(await capturedFor(moved.id)).toStrictEqual([]);
    expect(await listedIn(from.id)).toStrictEqual([]);
    await expectStorefrontMatchesCatalog();
  });

  it('drops a product deleted before its step from the walk', async () => {
    const { moved, byId } = await tree();
    await deleteCategory(stepped, caller, moved.id);
    const last = byId.at(-1) as string;

    expect((await admin('DELETE', `/products/${last}`)).status).toBe(204);

    expect(await capturedFor(moved.id)).toStrictEqual(byId.slice(0, -1));
    expect(await continueStorefrontRebuilds(stepped, caller, untilDone())).toStrictEqual({
      steps: 2,
      pending: 0,
    });
    await expectStorefrontMatchesCatalog();
  });

  it('leaves no mark when the products fit in one step', async () => {
    const { from, moved } = await tree();
    await deleteCategory({ ...env, STOREFRONT_REBUILD_CHUNK: '1000' }, caller, moved.id);

    expect(await rebuildMarks(moved.id)).toStrictEqual([]);
    expect(await capturedFor(moved.id)).toStrictEqual([]);
    expect(await listedIn(from.id)).toStrictEqual([]);
    await expectStorefrontMatchesCatalog();
  });

  it('is carried on by the storefront consumer as soon as the category event is delivered, with a line of its own', async () => {
    const { from, moved } = await tree();
    await deleteCategory(stepped, caller, moved.id);
    const event = syntheticEnvelope('category.deleted', { id: moved.id });
    const log = vi.spyOn(console, 'log');
    const delivered = await deliverBatch([event], { env: stepped, consumers: [storefrontConsumer] });
    const lines = logLines(log);
    log.mockRestore();

    expect(delivered.retried).toStrictEqual([]);
    expect(lines.filter((line) => line.msg === 'storefront rebuild')).toStrictEqual([
      {
        level: 'info',
        msg: 'storefront rebuild',
        time: expect.any(String),
        job: 'event-queue',
        run_id: expect.any(String),
        event_id: event.id,
        event_type: 'category.deleted',
        steps: 3,
        pending: 0,
      },
    ]);
    expect(await rebuildMarks(moved.id)).toStrictEqual([]);
    expect(await listedIn(from.id)).toStrictEqual([]);
    await expectStorefrontMatchesCatalog();
  });
});
