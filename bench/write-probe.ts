/**
 * A Worker for bench/run.mjs only, never deployed: runs what one kind of catalog write adds to its batch for the
 * storefront read model (one product, a category renamed, a collection's names, and the first step of the
 * rebuild after a region's currency or locales change, a category's move, a collection's new product list, or
 * the delete of a leaf category, a collection or a region, the delete and its cascades included, so it runs once;
 * and the next step of that region's deletion)
 * against the benchmark's D1 database, in one batch as the write does, and answers with how long the batch took and the
 * rows D1 read and wrote. The write's own few statements (the row, its audit entry, its event) are left out:
 * they are the same at every catalog size. One scope is not a write's batch but the storefront-rebuild job's
 * spread of crowded title labels (`title-respread`): its reads and batches, timed together.
 */
import { eq } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { categories, collections, regions } from '../src/db/schema';
import { systemCaller } from '../src/lib/caller';
import { D1Meter, meteredDatabase } from '../src/lib/d1-meter';
import { createDb, type Database } from '../src/lib/db';
import { refreshStorefront } from '../src/modules/storefront/projection';
import {
  DEFAULT_REBUILD_CHUNK,
  rebuildStep,
  startDeletedListRebuild,
  startRegionDeletion,
  startStorefrontRebuild,
} from '../src/modules/storefront/rebuild';
import { respreadCrowdedTitles } from '../src/modules/storefront/title-respread';

type Statements = BatchItem<'sqlite'>[];

/**
 * What each kind of write adds to its batch for the read model, from the handle or code asked for (looked up
 * unmetered). A region's currency or locale change, a category's move, a collection's new product list and a
 * delete start a rebuild in steps, and their batch holds its first step (a collection's new list also the
 * documents of the products it lists and of those it drops: the same list again here, so none dropped; a
 * delete, those it lists, and the delete itself).
 */
const WRITES: Record<string, (db: Database, raw: D1Database, key: string) => Promise<Statements>> = {
  product: async (db, raw, handle) =>
    refreshStorefront(db, { products: [await idOf(raw, 'products', 'handle', handle)] }),
  category: async (db, raw, handle) =>
    refreshStorefront(db, { category: await idOf(raw, 'categories', 'handle', handle) }),
  'category-moved': async (db, raw, handle) =>
    startStorefrontRebuild(
      db,
      { category: await idOf(raw, 'categories', 'handle', handle) },
      DEFAULT_REBUILD_CHUNK,
    ),
  collection: async (db, raw, handle) => {
    const collection = await idOf(raw, 'collections', 'handle', handle);
    const { results } = await raw
      .prepare('SELECT product_id FROM product_collections WHERE collection_id = ?')
      .bind(collection)
      .all<{ product_id: string }>();
    const keeping = results.map((r) => r.product_id);
    return [
      ...refreshStorefront(db, { leavingCollection: collection, keeping }),
      ...startStorefrontRebuild(db, { collection }, DEFAULT_REBUILD_CHUNK),
      ...refreshStorefront(db, { collectionDocuments: collection }),
    ];
  },
  'category-deleted': async (db, raw, handle) => {
    const category = await idOf(raw, 'categories', 'handle', handle);
    return [
      ...refreshStorefront(db, { leavingCategory: category }),
      ...startDeletedListRebuild(db, { category }, DEFAULT_REBUILD_CHUNK),
      db.delete(categories).where(eq(categories.id, category)),
    ];
  },
  'collection-deleted': async (db, raw, handle) => {
    const collection = await idOf(raw, 'collections', 'handle', handle);
    return [
      ...refreshStorefront(db, { leavingCollection: collection }),
      ...startDeletedListRebuild(db, { collection }, DEFAULT_REBUILD_CHUNK),
      db.delete(collections).where(eq(collections.id, collection)),
    ];
  },
  'collection-renamed': async (db, raw, handle) =>
    refreshStorefront(db, { collectionDocuments: await idOf(raw, 'collections', 'handle', handle) }),
  region: async (db, raw, code) =>
    startStorefrontRebuild(db, { region: await idOf(raw, 'regions', 'code', code) }, DEFAULT_REBUILD_CHUNK),
  'region-deleted': async (db, raw, code) => {
    const region = await idOf(raw, 'regions', 'code', code);
    return [
      ...startRegionDeletion(db, region, DEFAULT_REBUILD_CHUNK),
      db.delete(regions).where(eq(regions.id, region)),
    ];
  },
  // The region is gone: its deletion's mark names it (none when the delete's own step was the last).
  'region-deletion-step': async (db, raw) => {
    const mark = await raw
      .prepare("SELECT target FROM storefront_rebuilds WHERE deleted_list = 'region'")
      .first<string>('target');
    return rebuildStep(db, { deletedRegion: mark ?? '' }, DEFAULT_REBUILD_CHUNK);
  },
};

/** The English whole-catalog lane of region `eu`. */
const EU_LANE = `(SELECT lane FROM storefront_lanes l JOIN regions r ON r.id = l.region_id
  WHERE r.code = 'eu' AND l.locale = 'en' AND l.list_id = '')`;

/**
 * Unmetered: `size` entries from the middle of `eu`'s English whole-catalog lane given the first one's label and
 * marked, as that many products written one at a time into one gap leave them (their title rows keep the rowids
 * they have, as such writes' do: the spread deletes them by those).
 */
async function crowd(raw: D1Database, size: number): Promise<void> {
  const { results } = await raw
    .prepare(
      `SELECT title, product_id, title_label FROM storefront_entries WHERE lane = ${EU_LANE}
       ORDER BY title, product_id LIMIT ?1 OFFSET (SELECT count(*) / 2 FROM storefront_entries WHERE lane = ${EU_LANE})`,
    )
    .bind(size)
    .all<{ title: string; product_id: string; title_label: number }>();
  const [first, last] = [results[0], results.at(-1)];
  if (first === undefined || last === undefined) throw new Error('no entries to crowd');
  const inCrowd = `lane = ${EU_LANE} AND (title, product_id) BETWEEN (?1, ?2) AND (?3, ?4)`;
  const bounds = [first.title, first.product_id, last.title, last.product_id];
  await raw.batch([
    raw
      .prepare(`UPDATE storefront_entries SET title_label = ?5 WHERE ${inCrowd}`)
      .bind(...bounds, first.title_label),
    raw
      .prepare(
        `INSERT INTO storefront_title_crowds SELECT lane, product_id FROM storefront_entries WHERE ${inCrowd}`,
      )
      .bind(...bounds),
  ]);
}

async function idOf(db: D1Database, table: string, column: string, value: string): Promise<string> {
  const id = await db.prepare(`SELECT id FROM ${table} WHERE ${column} = ?`).bind(value).first<string>('id');
  if (id === null) throw new Error(`no ${table} row with ${column} ${value}`);
  return id;
}

export default {
  async fetch(request: Request, env: { DB: D1Database }): Promise<Response> {
    const params = new URL(request.url).searchParams;
    const meter = new D1Meter();
    const db = createDb(meteredDatabase(env.DB, meter));
    if (params.get('scope') === 'title-respread') {
      await crowd(env.DB, Number(params.get('key')));
      const started = Date.now();
      const progress = await respreadCrowdedTitles(db, systemCaller('bench', 'respread'), {
        deadline: started + 60_000,
      });
      return Response.json({
        ms: Date.now() - started,
        statements: `${progress.respread} batches, ${progress.entries_respread} entries`,
        rows_read: meter.rowsRead,
        rows_written: meter.rowsWritten,
      });
    }
    const write = WRITES[params.get('scope') ?? ''];
    if (!write) return Response.json({ error: 'unknown scope' }, { status: 404 });
    const [first, ...rest] = await write(db, env.DB, params.get('key') ?? '');
    if (!first) return Response.json({ error: 'no statements' }, { status: 500 });
    // Time in a Worker advances across I/O only: this is the batch's round trip.
    const started = Date.now();
    await db.batch([first, ...rest]);
    return Response.json({
      ms: Date.now() - started,
      statements: rest.length + 1,
      rows_read: meter.rowsRead,
      rows_written: meter.rowsWritten,
    });
  },
};
