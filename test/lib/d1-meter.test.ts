/**
 * The D1 meter (src/lib/d1-meter.ts) against real local D1: every statement and batch, on the database or one
 * of its sessions, counts a round trip and the rows D1 reports; and every request states its cost in
 * Server-Timing and in its log line, from a cache HIT (nothing) to a listing (rows in proportion to the page)
 * and a write (rows written).
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { costFields, D1Meter, meteredDatabase } from '../../src/lib/d1-meter';
import { createDb } from '../../src/lib/db';
import { admin, createProduct } from '../helpers/admin-fixtures';
import { insertProductRow, seedRegions } from '../helpers/catalog-fixtures';
import { call } from '../helpers/http';
import { cacheStatusOf, d1CostOf, requestLineOf, serverTiming } from '../helpers/request-cost';
import { unique } from '../helpers/unique';

const cost = (meter: D1Meter) => ({
  queries: meter.queries,
  rowsRead: meter.rowsRead,
  rowsWritten: meter.rowsWritten,
  unreported: meter.unreported,
});

describe('a metered database', () => {
  let table: string;
  beforeEach(async () => {
    table = unique('meter').replace(/[^a-z0-9_]/gi, '_');
    await env.DB.prepare(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, name TEXT)`).run();
    await env.DB.prepare(`INSERT INTO ${table} (name) VALUES ('a'), ('b'), ('c')`).run();
  });

  it('counts a round trip and the rows D1 reports for all, run, first and a batch', async () => {
    const meter = new D1Meter();
    const db = meteredDatabase(env.DB, meter);

    const all = await db.prepare(`SELECT name FROM ${table} ORDER BY id`).all();
    expect(all.results).toStrictEqual([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    expect(cost(meter)).toStrictEqual({ queries: 1, rowsRead: 3, rowsWritten: 0, unreported: 0 });

    await db.prepare(`INSERT INTO ${table} (name) VALUES (?)`).bind('d').run();
    expect(cost(meter)).toStrictEqual({ queries: 2, rowsRead: 3, rowsWritten: 1, unreported: 0 });

    expect(await db.prepare(`SELECT name FROM ${table} WHERE id = ?`).bind(2).first()).toStrictEqual({
      name: 'b',
    });
    expect(await db.prepare(`SELECT name FROM ${table} WHERE id = 3`).first('name')).toBe('c');
    expect(await db.prepare(`SELECT name FROM ${table} WHERE id = 99`).first()).toBeNull();
    expect(cost(meter)).toStrictEqual({ queries: 5, rowsRead: 6, rowsWritten: 1, unreported: 0 });

    const [rows, inserted] = await db.batch([
      db.prepare(`SELECT count(*) AS n FROM ${table}`),
      db.prepare(`INSERT INTO ${table} (name) VALUES ('e'), ('f')`),
    ]);
    expect(rows?.results).toStrictEqual([{ n: 4 }]);
    expect(inserted?.meta.changes).toBe(2);
    expect(cost(meter)).toStrictEqual({
      queries: 6,
      rowsRead: 6 + (rows?.meta.rows_read ?? 0),
      rowsWritten: 3,
      unreported: 0,
    });
  });

  it('refuses first(column) of a missing column as D1 does', async () => {
    const db = meteredDatabase(env.DB, new D1Meter());
    const query = `SELECT name FROM ${table} WHERE id = 1`;
    const message = await env.DB.prepare(query)
      .first('nope')
      .catch((e: Error) => e.message);
    await expect(db.prepare(query).first('nope')).rejects.toThrow(message as string);
  });

  it('counts raw() and exec() as round trips whose rows D1 does not report', async () => {
    const meter = new D1Meter();
    const db = meteredDatabase(env.DB, meter);
    // Two columns of one name: raw() keeps both, which is why drizzle uses it.
    expect(await db.prepare(`SELECT id, name, name FROM ${table} WHERE id = 1`).raw()).toStrictEqual([
      [1, 'a', 'a'],
    ]);
    expect(
      await db.prepare(`SELECT name FROM ${table} WHERE id = 2`).raw({ columnNames: true }),
    ).toStrictEqual([['name'], ['b']]);
    await db.exec(`UPDATE ${table} SET name = 'z' WHERE id = 3`);
    expect(cost(meter)).toStrictEqual({ queries: 3, rowsRead: 0, rowsWritten: 0, unreported: 3 });
    expect(costFields(meter)).toStrictEqual({
      d1_queries: 3,
      d1_rows_read: 0,
      d1_rows_written: 0,
      d1_unreported: 3,
    });
  });

  it('meters sessions and drizzle, batches included', async () => {
    const meter = new D1Meter();
    const db = meteredDatabase(env.DB, meter);
    const session = db.withSession('first-unconstrained');
    const read = await session.prepare(`SELECT name FROM ${table} WHERE id <= 2`).all();
    expect(read.results).toHaveLength(2);
    expect(session.getBookmark()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/);
    const [updated] = await session.batch([session.prepare(`UPDATE ${table} SET name = 'y' WHERE id = 1`)]);
    expect(cost(meter)).toStrictEqual({
      queries: 2,
      rowsRead: read.meta.rows_read + (updated?.meta.rows_read ?? 0),
      rowsWritten: 1,
      unreported: 0,
    });

    const drizzle = createDb(db);
    const [count] = await drizzle.batch([drizzle.run(`SELECT 1`)]);
    expect(count).toBeDefined();
    expect(meter.queries).toBe(3);
    expect(costFields(meter)).not.toHaveProperty('d1_unreported');
  });
});

describe('every request states its D1 cost', () => {
  beforeAll(seedRegions);
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('in Server-Timing and in its log line: a listing MISS reads rows, its HIT costs nothing', async () => {
    const word = unique('meter').replace(/[^a-z0-9]/gi, '');
    for (let i = 0; i < 5; i++) {
      await insertProductRow({ translations: { en: { title: `${word} ${i}` } } });
    }
    // A frozen clock keeps the isolate from re-reading the cache versions between the two requests.
    vi.useFakeTimers({ toFake: ['Date'] });
    const log = vi.spyOn(console, 'log');
    const path = `/v1/store/products?q=${word}&limit=5`;

    const miss = await call(path, { cf: { country: 'DE' } });
    expect(miss.status).toBe(200);
    expect(((await miss.json()) as { data: unknown[] }).data).toHaveLength(5);
    expect(cacheStatusOf(miss)).toBe('MISS');
    const missCost = d1CostOf(miss);
    // The versions, the regions, the listing and its hydration; each of the 5 products is at least one row.
    expect(missCost.queries).toBeGreaterThanOrEqual(2);
    expect(missCost.rowsRead).toBeGreaterThanOrEqual(5);
    expect(missCost.rowsWritten).toBe(0);

    const hit = await call(path, { cf: { country: 'DE' } });
    expect(cacheStatusOf(hit)).toBe('HIT');
    await hit.arrayBuffer();
    expect(d1CostOf(hit)).toStrictEqual({ queries: 0, rowsRead: 0, rowsWritten: 0 });
    expect(serverTiming(hit)).not.toHaveProperty('d1_unreported');

    for (const [res, spent] of [
      [miss, missCost],
      [hit, { queries: 0, rowsRead: 0, rowsWritten: 0 }],
    ] as const) {
      expect(requestLineOf(log, res)).toStrictEqual({
        level: 'info',
        msg: 'request',
        time: expect.any(String),
        request_id: res.headers.get('X-Request-Id'),
        method: 'GET',
        path: '/v1/store/products',
        status: 200,
        duration_ms: expect.any(Number),
        cache: cacheStatusOf(res),
        region: 'eu',
        country: 'DE',
        d1_queries: spent.queries,
        d1_rows_read: spent.rowsRead,
        d1_rows_written: spent.rowsWritten,
      });
    }
  });

  it('a write reports the rows it wrote', async () => {
    const log = vi.spyOn(console, 'log');
    await createProduct();
    const res = await admin('POST', '/products', {
      handle: unique('product'),
      translations: { en: { title: 'Metered' } },
    });
    expect(res.status).toBe(201);
    const spent = d1CostOf(res);
    // The product, its translation, its audit entry, its event and its cache versions at the least.
    expect(spent.rowsWritten).toBeGreaterThanOrEqual(5);
    expect(spent.queries).toBeGreaterThanOrEqual(2);
    const line = requestLineOf(log, res);
    expect([line.d1_queries, line.d1_rows_read, line.d1_rows_written]).toStrictEqual([
      spent.queries,
      spent.rowsRead,
      spent.rowsWritten,
    ]);
    // The admin guard's and checks' drizzle selects use raw(), whose rows D1 does not report.
    expect(Number(serverTiming(res).d1_unreported)).toBe(line.d1_unreported);
    expect(line.d1_unreported).toBeGreaterThan(0);
  });
});
