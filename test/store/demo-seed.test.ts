/**
 * The demo seed (scripts/seed.mjs, `npm run seed:local`) writes the catalog outside the API, with its read model
 * and its version: a running Worker lists what the seed wrote, and after a reseed (`-- --force`) the new catalog
 * once it next reads the versions (at most REFRESH_MS later), not the listing it had cached.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { buildDemoCatalog } from '../../scripts/lib/demo-catalog.mjs';
import { seedStatements } from '../../scripts/seed.mjs';
import { REFRESH_MS } from '../../src/lib/cache-versions';
import { rows } from '../helpers/admin-fixtures';
import { call } from '../helpers/http';
import { cacheStatusOf } from '../helpers/request-cost';
import { rowsOutsideTheirOwners } from '../helpers/storefront';

/**
 * Runs what `npm run seed:local` runs for a catalog of `count` products, but for its local drop and rebuild of the
 * read model's indexes (what `--remote` runs).
 */
async function seed(count: number, force: boolean) {
  const statements = seedStatements(buildDemoCatalog(count), { force });
  await env.DB.batch(statements.map((statement) => env.DB.prepare(statement)));
}

/** The storefront listing from Germany (region eu): the cache's verdict and the products' handles, sorted. */
async function listing() {
  const res = await call('/v1/store/products?limit=100', { cf: { country: 'DE' } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { data: { handle: string }[] };
  return { cache: cacheStatusOf(res), handles: body.data.map((product) => product.handle).sort() };
}

/** The handles of the products region eu sells, from the tables the seed wrote. */
async function soldInEu() {
  const { results } = await env.DB.prepare(
    `SELECT p.handle FROM products p
     WHERE p.status = 'active' AND EXISTS (
       SELECT 1 FROM variants v JOIN prices pr ON pr.variant_id = v.id
       WHERE v.product_id = p.id AND pr.currency_code = (SELECT currency_code FROM regions WHERE code = 'eu'))
     ORDER BY p.handle`,
  ).all<{ handle: string }>();
  return results.map((row) => row.handle);
}

beforeEach(() => {
  // A frozen clock: this isolate reads the versions again only when the test moves time.
  vi.useFakeTimers({ toFake: ['Date'] });
});

afterEach(() => {
  vi.useRealTimers();
});

it('a reseed is listed once the Worker next reads the versions, not the listing it had cached', async () => {
  await seed(20, false);
  const first = await listing();
  expect(first.handles).toStrictEqual(await soldInEu());
  expect(first.handles.length).toBeGreaterThan(10);
  expect((await listing()).cache).toBe('HIT');

  await seed(8, true);
  vi.setSystemTime(Date.now() + REFRESH_MS);
  const after = await listing();
  expect(after.cache).toBe('MISS');
  expect(after.handles).toStrictEqual(await soldInEu());
  expect(after.handles.length).toBeLessThan(first.handles.length);
  // The old catalog's regions left no rows, nor deletions' marks for steps with nothing to do.
  expect(await rowsOutsideTheirOwners()).toStrictEqual([]);
  expect(await rows('SELECT target, deleted_list FROM storefront_rebuilds')).toStrictEqual([]);
});
