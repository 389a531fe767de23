/**
 * A Worker for bench/run.mjs only, never deployed: runs what one kind of catalog write adds to its batch for the
 * storefront read model (`refreshStorefront`: one product, a category renamed, a collection's products or names,
 * one step of the rebuild after a region's currency or locales change or a category moves) against the
 * benchmark's D1 database, in one batch as the write does, and answers with how long the batch took and the
 * rows D1 read and wrote. The write's own few statements (the row, its audit entry, its event) are left out:
 * they are the same at every catalog size.
 */
import { D1Meter, meteredDatabase } from '../src/lib/d1-meter';
import { createDb, type Database } from '../src/lib/db';
import { refreshStorefront, type StorefrontScope } from '../src/modules/storefront/projection';
import { DEFAULT_REBUILD_CHUNK, stepScope } from '../src/modules/storefront/rebuild';

/**
 * Each kind of write's scope, from the handle or code asked for (looked up unmetered). A step of a rebuild finds
 * its products with a read of its own before its batch: that read is on the metered `db`, so its rows count.
 */
const SCOPES: Record<string, (db: Database, raw: D1Database, key: string) => Promise<StorefrontScope>> = {
  product: async (_db, raw, handle) => ({ products: [await idOf(raw, 'products', 'handle', handle)] }),
  category: async (_db, raw, handle) => ({ category: await idOf(raw, 'categories', 'handle', handle) }),
  'category-moved': async (db, raw, handle) =>
    stepScope(db, { category: await idOf(raw, 'categories', 'handle', handle) }, '', DEFAULT_REBUILD_CHUNK),
  collection: async (_db, raw, handle) => ({ collection: await idOf(raw, 'collections', 'handle', handle) }),
  'collection-renamed': async (_db, raw, handle) => ({
    collectionRenamed: await idOf(raw, 'collections', 'handle', handle),
  }),
  region: async (db, raw, code) =>
    stepScope(db, { region: await idOf(raw, 'regions', 'code', code) }, '', DEFAULT_REBUILD_CHUNK),
};

async function idOf(db: D1Database, table: string, column: string, value: string): Promise<string> {
  const id = await db.prepare(`SELECT id FROM ${table} WHERE ${column} = ?`).bind(value).first<string>('id');
  if (id === null) throw new Error(`no ${table} row with ${column} ${value}`);
  return id;
}

export default {
  async fetch(request: Request, env: { DB: D1Database }): Promise<Response> {
    const params = new URL(request.url).searchParams;
    const scopeOf = SCOPES[params.get('scope') ?? ''];
    if (!scopeOf) return Response.json({ error: 'unknown scope' }, { status: 404 });
    const meter = new D1Meter();
    const db = createDb(meteredDatabase(env.DB, meter));
    const scope = await scopeOf(db, env.DB, params.get('key') ?? '');
    const [first, ...rest] = refreshStorefront(db, scope);
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
