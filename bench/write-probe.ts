/**
 * A Worker for bench/run.mjs only, never deployed: runs what one kind of catalog write adds to its batch for the
 * storefront read model (`refreshStorefront`: one product, a category renamed, a collection's products or names,
 * one step of a region's rebuild after a change of its currency or locales) against the benchmark's D1 database,
 * in one batch as the write does, and answers with how long the batch took and the rows D1 read and wrote. The
 * write's own few statements (the row, its audit entry, its event) are left out: they are the same at every
 * catalog size.
 */
import { D1Meter, meteredDatabase } from '../src/lib/d1-meter';
import { createDb } from '../src/lib/db';
import { refreshStorefront, type StorefrontScope } from '../src/modules/storefront/projection';
import { DEFAULT_REBUILD_CHUNK } from '../src/modules/storefront/rebuild';

const SCOPES: Record<string, (db: D1Database, key: string) => Promise<StorefrontScope>> = {
  product: async (db, handle) => ({ products: [await idOf(db, 'products', 'handle', handle)] }),
  category: async (db, handle) => ({ category: await idOf(db, 'categories', 'handle', handle) }),
  collection: async (db, handle) => ({ collection: await idOf(db, 'collections', 'handle', handle) }),
  'collection-renamed': async (db, handle) => ({
    collectionRenamed: await idOf(db, 'collections', 'handle', handle),
  }),
  region: async (db, code) => ({
    region: await idOf(db, 'regions', 'code', code),
    after: '',
    chunk: DEFAULT_REBUILD_CHUNK,
  }),
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
    const scope = await scopeOf(env.DB, params.get('key') ?? '');
    const meter = new D1Meter();
    const db = createDb(meteredDatabase(env.DB, meter));
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
