/**
 * Crowded title labels spread again (src/modules/storefront/title-respread.ts): products written one at a time into
 * one gap of a lane's titles halve it each time until neighbours share a label, which a listing by title reads
 * together. The write marks each entry that shares its label; the storefront-rebuild job spreads a window around
 * each, after which no two entries share one, the title-ordered copy holds every row under its new label, and the
 * listing reads a page's worth again.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runStorefrontRebuildJob } from '../../src/jobs/storefront-rebuild';
import { systemCaller } from '../../src/lib/caller';
import { D1Meter, meteredDatabase } from '../../src/lib/d1-meter';
import { createDb } from '../../src/lib/db';
import { encodeCursor } from '../../src/lib/pagination';
import { listProducts } from '../../src/modules/products/store-read';
import { ListProductsQuery } from '../../src/modules/products/store-schemas';
import { continueStorefrontRebuilds, startStorefrontRebuild } from '../../src/modules/storefront/rebuild';
import { respreadCrowdedTitles } from '../../src/modules/storefront/title-respread';
import { type BulkCatalog, seedBulkCatalog } from '../helpers/bulk-catalog';
import { insertProductRow, refreshReadModel } from '../helpers/catalog-fixtures';
import { listedIds } from '../helpers/listing-pages';
import { expectStorefrontMatchesCatalog, misplacedTitleLabels, rebuildMarks } from '../helpers/storefront';

/** The catalog region's English lane of the whole catalog, in SQL (`?1`: the region's id). */
const LANE = `(SELECT lane FROM storefront_lanes WHERE region_id = ?1 AND locale = 'en' AND list_id = '')`;

/** Every entry of the catalog's English whole-catalog lane, in title order, with its label. */
async function labels(catalog: BulkCatalog) {
  const { results } = await env.DB.prepare(
    `SELECT product_id, title, title_label FROM storefront_entries WHERE lane = ${LANE}
     ORDER BY title, product_id`,
  )
    .bind(catalog.store.region.id)
    .all<{ product_id: string; title: string; title_label: number }>();
  return results;
}

/** How many entries of the lane share a label with another. */
async function sharedLabels(catalog: BulkCatalog): Promise<number> {
  const rows = await labels(catalog);
  return rows.length - new Set(rows.map((row) => row.title_label)).size;
}

/** The marked entries of the lane, by product id. */
async function marks(catalog: BulkCatalog): Promise<string[]> {
  const { results } = await env.DB.prepare(
    `SELECT product_id FROM storefront_title_crowds WHERE lane = ${LANE} ORDER BY product_id`,
  )
    .bind(catalog.store.region.id)
    .all<{ product_id: string }>();
  return results.map((row) => row.product_id);
}

/**
 * Writes `count` products one at a time, titled `<word> NN`: newest first (each before the last, as the first is
 * at the start of its titles), or each after the last.
 */
async function writeOneAtATime(
  word: string,
  currency: string,
  count: number,
  order: 'descending' | 'ascending',
) {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = order === 'ascending' ? i + 10 : i === 0 ? 0 : 99 - i;
    const { id } = await insertProductRow({
      translations: { en: { title: `${word} ${String(n).padStart(2, '0')}` } },
      variants: [{ prices: { [currency]: 1_000 + i } }],
    });
    ids.push(id);
  }
  return ids;
}

/** The products whose title has `word`, as a listing by title shows them: the lane's entries in title order. */
async function expected(catalog: BulkCatalog, word: string, direction: 'asc' | 'desc') {
  const ids = (await labels(catalog)).filter((e) => e.title.startsWith(`${word} `)).map((e) => e.product_id);
  return direction === 'asc' ? ids : ids.reverse();
}

/** Rows read by the page of two after the first `skip` products titled `<word> ...` (a search for it by title). */
async function pageCost(catalog: BulkCatalog, word: string, skip: number): Promise<number> {
  const titled = (await labels(catalog)).filter((e) => e.title.startsWith(`${word} `));
  const edge = titled[skip - 1];
  if (edge === undefined) throw new Error(`fewer than ${skip} products titled ${word}`);
  const cursor = encodeCursor({ sort: 'title_asc', key: [edge.title, edge.product_id] });
  const meter = new D1Meter();
  const query = ListProductsQuery.parse({ q: word, sort: 'title_asc', limit: '2', cursor });
  const { data } = await listProducts(meteredDatabase(env.DB, meter), query, catalog.store);
  expect(data.map((product) => product.id)).toStrictEqual(
    titled.slice(skip, skip + 2).map((e) => e.product_id),
  );
  return meter.rowsRead;
}

const caller = systemCaller('test', 'respread');
const later = () => ({ deadline: Date.now() + 60_000 });

describe('crowded title labels', () => {
  it('products written one at a time into one gap are marked, and one batch a lane spreads them', async () => {
    const catalog = await seedBulkCatalog('ropes', 'HUF', 200);
    expect(await marks(catalog)).toStrictEqual([]);
    await writeOneAtATime('Knot', 'HUF', 50, 'descending');
    const shared = await sharedLabels(catalog);
    expect(shared).toBeGreaterThan(10);
    // Every marked entry shares its label with a neighbour; each but the first of a crowd is marked.
    const marked = await marks(catalog);
    const byLabel = Map.groupBy(await labels(catalog), (e) => e.title_label);
    const crowded = [...byLabel.values()].filter((group) => group.length > 1);
    expect(marked.length).toBe(crowded.reduce((n, group) => n + group.length - 1, 0));
    for (const id of marked) {
      expect(crowded.some((group) => group.some((e) => e.product_id === id))).toBe(true);
    }
    const crowdedCost = await pageCost(catalog, 'Knot', 30);

    const progress = await respreadCrowdedTitles(createDb(env.DB), caller, later());

    // The region's two locales, two lanes: the crowd of each in one window.
    expect(progress).toStrictEqual({
      respread: 2,
      entries_respread: expect.any(Number),
      crowds_dropped: 0,
      crowds_left: 0,
    });
    expect(progress.entries_respread).toBeGreaterThanOrEqual(100);
    expect(await sharedLabels(catalog)).toBe(0);
    expect(await marks(catalog)).toStrictEqual([]);
    await expectStorefrontMatchesCatalog();
    for (const direction of ['asc', 'desc'] as const) {
      const all = await expected(catalog, 'Knot', direction);
      expect(all).toHaveLength(50);
      expect(
        await listedIds(catalog.store, { q: 'knot', sort: `title_${direction}` }, { limit: 2 }),
      ).toStrictEqual(all);
    }
    // Measured: 126 rows with the page's edge inside the shared label, 39 after.
    const spreadCost = await pageCost(catalog, 'Knot', 30);
    expect(spreadCost).toBeLessThan(crowdedCost / 2);
  });

  it('the storefront-rebuild job spreads a crowd of products written in title order', async () => {
    const catalog = await seedBulkCatalog('loops', 'ISK', 200);
    // Between two of the catalog's titles ("loops 0...": each next one after the last).
    await writeOneAtATime('loops 05', 'ISK', 40, 'ascending');
    expect(await sharedLabels(catalog)).toBeGreaterThan(0);
    expect((await marks(catalog)).length).toBeGreaterThan(0);

    await runStorefrontRebuildJob(env);

    expect(await sharedLabels(catalog)).toBe(0);
    expect(await marks(catalog)).toStrictEqual([]);
    expect(await misplacedTitleLabels()).toStrictEqual([]);
    const all = await expected(catalog, 'loops 05', 'asc');
    expect(all).toHaveLength(40);
    expect(await listedIds(catalog.store, { q: 'loops', sort: 'title_asc' }, { limit: 7 })).toStrictEqual(
      (await labels(catalog)).map((e) => e.product_id),
    );
  });

  it('two runners at once leave the labels spread and every title row in place', async () => {
    const catalog = await seedBulkCatalog('twice', 'PLN', 100);
    await writeOneAtATime('Twice', 'PLN', 40, 'descending');
    const db = createDb(env.DB);

    await Promise.all([
      respreadCrowdedTitles(db, caller, later()),
      respreadCrowdedTitles(db, caller, later()),
    ]);

    expect(await sharedLabels(catalog)).toBe(0);
    expect(await marks(catalog)).toStrictEqual([]);
    await expectStorefrontMatchesCatalog();
  });

  it("keeps each title row's place while a change of the region's locales is not rebuilt yet", async () => {
    const catalog = await seedBulkCatalog('swap', 'DKK', 50);
    // Products with English titles only: both locales' lanes hold them under the same labels, crowded alike.
    await writeOneAtATime('Swap', 'DKK', 40, 'descending');
    const region = catalog.store.region.id;
    const deLane = `(SELECT lane FROM storefront_lanes WHERE region_id = ?1 AND locale = 'de' AND list_id = '')`;
    const deMarks = await env.DB.prepare(
      `SELECT product_id FROM storefront_title_crowds WHERE lane = ${deLane}`,
    )
      .bind(region)
      .all<{ product_id: string }>();
    expect(deMarks.results.length).toBeGreaterThan(10);
    // The English lane is spread first (the German lane's marks held back, as if the run ended between them),
    // then the region's locales change order, its rebuild not yet at these products, and the German lane is
    // spread: its places were written with German second.
    await env.DB.prepare(`DELETE FROM storefront_title_crowds WHERE lane = ${deLane}`).bind(region).run();
    await respreadCrowdedTitles(createDb(env.DB), caller, later());
    // Put back whatever happens below: the tests after this one read the whole read model.
    onTestFinished(async () => {
      await env.DB.prepare(`UPDATE regions SET locales = '["en","de"]' WHERE id = ?`).bind(region).run();
    });
    await env.DB.batch([
      ...deMarks.results.map((m) =>
        env.DB.prepare(`INSERT INTO storefront_title_crowds VALUES (${deLane}, ?2)`).bind(
          region,
          m.product_id,
        ),
      ),
      env.DB.prepare(`UPDATE regions SET locales = '["de","en"]' WHERE id = ?`).bind(region),
    ]);

    await respreadCrowdedTitles(createDb(env.DB), caller, later());

    const { results: shared } = await env.DB.prepare(
      `SELECT title_row FROM storefront_entries WHERE title_row IS NOT NULL GROUP BY title_row HAVING count(*) > 1`,
    ).all();
    expect(shared).toStrictEqual([]);
    await env.DB.prepare(`UPDATE regions SET locales = '["en","de"]' WHERE id = ?`).bind(region).run();
    expect(await sharedLabels(catalog)).toBe(0);
    await expectStorefrontMatchesCatalog();
  });

  it("a region's rebuild step that crowds a gap marks what it wrote, and the job spreads it", async () => {
    const catalog = await seedBulkCatalog('regstep', 'NZD', 200);
    const region = catalog.store.region.id;
    // The catalog's titles wrap past its 126th product, so products 127-200 lie between products 1-74 in title
    // order. The entries the step does not rewrite labelled one apart (title rows keep their rowids, by which the step
    // deletes its own entries' rows): every product the step writes back lands in a gap of one label.
    await env.DB.prepare(
      `UPDATE storefront_entries SET title_label = 1000 + x.n FROM (
         SELECT lane, product_id, row_number() OVER (PARTITION BY lane ORDER BY title, product_id) AS n
         FROM storefront_entries WHERE lane IN (SELECT lane FROM storefront_lanes WHERE region_id = ?1 AND list_id = '')
           AND product_id > 'regstep_p000010'
       ) x WHERE storefront_entries.lane = x.lane AND storefront_entries.product_id = x.product_id`,
    )
      .bind(region)
      .run();
    // The rebuild's first step walks every product by id: to the catalog's tenth here.
    const chunk = await env.DB.prepare(
      `SELECT count(*) AS n FROM products WHERE id <= 'regstep_p000010'`,
    ).first<number>('n');
    const db = createDb(env.DB);
    // The rest of the rebuild writes every entry of the region again, whatever happens below: the tests after this
    // one read the whole read model.
    onTestFinished(() => continueStorefrontRebuilds(env, caller, later()).then(() => undefined));
    const [first, ...rest] = startStorefrontRebuild(db, { region }, chunk ?? 0);
    if (first) await db.batch([first, ...rest]);

    const stepped = (await marks(catalog)).filter((id) => id <= 'regstep_p000010');
    expect(stepped.length).toBeGreaterThan(5);
    expect(await marks(catalog)).toStrictEqual(stepped);
    await runStorefrontRebuildJob(env);
    expect(await rebuildMarks(region)).toStrictEqual([]);
    expect(await marks(catalog)).toStrictEqual([]);
    expect(await sharedLabels(catalog)).toBe(0);
    await expectStorefrontMatchesCatalog();
  });

  it("at a lane's start, where its room has run out, a product written first shares the first label and is marked", async () => {
    const catalog = await seedBulkCatalog('start', 'BGN', 50);
    // As 1,024 products written one at a time before the first title would leave it.
    await env.DB.prepare(
      `UPDATE storefront_entries SET title_label = 0 WHERE lane = ${LANE}
        AND product_id = (SELECT product_id FROM storefront_entries WHERE lane = ${LANE} ORDER BY title, product_id LIMIT 1)`,
    )
      .bind(catalog.store.region.id)
      .run();
    const [first] = await writeOneAtATime('Aaa', 'BGN', 1, 'ascending');

    expect(await marks(catalog)).toStrictEqual([first]);
    expect((await labels(catalog)).slice(0, 2).map((e) => e.title_label)).toStrictEqual([0, 0]);
    await respreadCrowdedTitles(createDb(env.DB), caller, later());
    expect(await sharedLabels(catalog)).toBe(0);
    await expectStorefrontMatchesCatalog();
  });

  it('migration 0029 marks the crowds written before it, and runs again without harm', async () => {
    const catalog = await seedBulkCatalog('older', 'RON', 100);
    await writeOneAtATime('Older', 'RON', 40, 'descending');
    await env.DB.prepare('DELETE FROM storefront_title_crowds').run();
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith('0029_'));
    const run = () => env.DB.batch((migration?.queries ?? []).map((query) => env.DB.prepare(query)));

    await run();
    await run();

    // Each entry whose label is its predecessor's in title order.
    const entries = await labels(catalog);
    const sharing = entries
      .filter((e, i) => i > 0 && e.title_label === entries[i - 1]?.title_label)
      .map((e) => e.product_id);
    expect(sharing.length).toBeGreaterThan(10);
    expect(await marks(catalog)).toStrictEqual(sharing.sort());
    await respreadCrowdedTitles(createDb(env.DB), caller, later());
    expect(await sharedLabels(catalog)).toBe(0);
    await expectStorefrontMatchesCatalog();
  });

  /**
   * Writes in a random order (a seeded generator, so the same every run): products written into a few gaps in
   * ascending and descending runs, products renamed and deleted, spreads now and then. At each checkpoint the
   * labels are in title order with every title row under its entry's rowid, after each spread no label is shared,
   * and at the end the read model equals the catalog.
   */
  it('any mix of writes, renames, deletes and spreads leaves the labels in order and the title copy whole', async () => {
    const catalog = await seedBulkCatalog('mixed', 'SGD', 100);
    let state = 20261127;
    const next = (n: number) => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state % n;
    };
    const written: string[] = [];
    const counters = [0, 0, 0];
    const title = () => {
      // Three gaps: before, inside and after the catalog's titles ("mixed 0..."), each filled in runs.
      const gap = next(3);
      const n = counters[gap] ?? 0;
      counters[gap] = n + 1;
      const step = next(2) === 0 ? n : 999 - n;
      return `${['Aa', 'mixed 05', 'zz'][gap]} ${String(step).padStart(3, '0')}`;
    };
    const db = createDb(env.DB);
    let spread = 0;
    for (let op = 1; op <= 150; op++) {
      const roll = next(20);
      const target = written[next(Math.max(1, written.length))];
      if (roll < 2 && target !== undefined) {
        await env.DB.prepare('DELETE FROM products WHERE id = ?').bind(target).run();
        written.splice(written.indexOf(target), 1);
      } else if (roll < 5 && target !== undefined) {
        await env.DB.prepare(
          "UPDATE product_translations SET title = ? WHERE product_id = ? AND locale = 'en'",
        )
          .bind(title(), target)
          .run();
        await refreshReadModel({ products: [target] });
      } else if (roll < 6) {
        spread += (await respreadCrowdedTitles(db, caller, later())).respread;
        expect(await sharedLabels(catalog)).toBe(0);
      } else {
        const { id } = await insertProductRow({
          translations: { en: { title: title() } },
          variants: [{ prices: { SGD: 1_000 + op } }],
        });
        written.push(id);
      }
      if (op % 50 === 0) expect(await misplacedTitleLabels()).toStrictEqual([]);
    }
    spread += (await respreadCrowdedTitles(db, caller, later())).respread;
    expect(spread).toBeGreaterThan(3);
    expect(await sharedLabels(catalog)).toBe(0);
    expect(await marks(catalog)).toStrictEqual([]);
    await expectStorefrontMatchesCatalog();
  });

  it('a mark whose entry is gone is dropped, and nothing else changes', async () => {
    const catalog = await seedBulkCatalog('gone', 'CZK', 50);
    const before = await labels(catalog);
    await env.DB.prepare(
      `INSERT INTO storefront_title_crowds (lane, product_id) VALUES (${LANE}, 'prod_gone')`,
    )
      .bind(catalog.store.region.id)
      .run();

    const progress = await respreadCrowdedTitles(createDb(env.DB), caller, later());

    expect(progress).toStrictEqual({ respread: 0, entries_respread: 0, crowds_dropped: 1, crowds_left: 0 });
    expect(await labels(catalog)).toStrictEqual(before);
  });
});
