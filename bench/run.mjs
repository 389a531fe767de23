// `npm run bench [-- --products 200[,20000,100000]] [-- --only miss[,writes][,throughput]] [-- --requests 100] [-- --quick]
//  [-- --duration 10] [-- --connections 20]`
// Builds the Worker as `wrangler deploy` would, runs it on Miniflare's Node API (workerd with the real local
// D1/KV/Cache bindings and no dev proxy in front), seeds the demo catalog at each size given, and measures:
// - miss: what an uncached storefront listing costs, one scenario at a time (LISTINGS below: sorts, a category,
//   price bounds, searches, an option value and a collection by title): sequential requests, each a cache MISS (a distinct `bench` parameter makes each URL,
//   and so each cache key, new), with p50/p99 latency, plus the D1 round trips and rows read of that listing
//   counted by bench/listing-probe.ts, which runs the route's own read functions through a metered D1 binding.
// - writes: what the storefront read model adds to a catalog write's batch (one product, a category renamed, a
//   collection's product list or names, one step of a region's or a moved category's rebuild), run in one batch by
//   bench/write-probe.ts: time, rows read and written, each the median of WRITE_RUNS runs.
// - throughput: autocannon against cache HITs and MISSes next to a bare hello-world Worker on the same runtime.
// Prints Markdown tables and writes them to bench/results/latest.md; only targets 127.0.0.1; stops itself.
import { mkdirSync, writeFileSync } from 'node:fs';
import { build as esbuild } from 'esbuild';
import {
  applyMigrations,
  buildWorker,
  edgecartWorker,
  flag,
  HOST,
  hasFlag,
  load,
  MINIFLARE_VERSION,
  numberFlag,
  percentile,
  seedDemoCatalog,
  startWorkers,
} from './lib/runtime.mjs';

const QUICK = hasFlag('quick');
const DURATION = QUICK ? 3 : numberFlag('duration', 10);
const CONNECTIONS = numberFlag('connections', 20);
const MISS_REQUESTS = QUICK ? 20 : numberFlag('requests', 100);
const SIZES = flag('products', '200').split(',').map(Number);
const ONLY = flag('only', undefined)?.split(',');
/** Whether a part of the bench runs: all of them unless --only names some. */
const runs = (part) => ONLY === undefined || ONLY.includes(part);
const APP_PORT = 8797;
const HELLO_PORT = 8798;

/**
 * The listings whose MISS cost is measured: the demo catalog's region, a category, a common search word, an option
 * value and a collection.
 */
const LISTINGS = [
  ['newest', '/v1/store/products?limit=20&region=eu'],
  ['price, lowest first', '/v1/store/products?limit=20&region=eu&sort=price_asc'],
  ['category (with subcategories)', '/v1/store/products?limit=20&region=eu&category=tops'],
  ['price range 20-60 €', '/v1/store/products?limit=20&region=eu&price_min=2000&price_max=6000'],
  ['from 20 €, price lowest first', '/v1/store/products?limit=20&region=eu&price_min=2000&sort=price_asc'],
  ['from 20 €, price highest first', '/v1/store/products?limit=20&region=eu&price_min=2000&sort=price_desc'],
  // Under one product in a thousand reaches 200 € (jackets whose largest size costs 200.90 €).
  ['from 200 €, newest first', '/v1/store/products?limit=20&region=eu&price_min=20000'],
  ['from 200 €, by title', '/v1/store/products?limit=20&region=eu&price_min=20000&sort=title_asc'],
  // The worst case of the lane's head and count (before the price words, 2026-11-28): 110 products reach 196 € at
  // 20,000 and over 500 at 100,000, more than a page read and sorted, so the walk passed over the lane between them.
  ['from 196 €, newest first', '/v1/store/products?limit=20&region=eu&price_min=19600'],
  ['from 196 €, by title', '/v1/store/products?limit=20&region=eu&price_min=19600&sort=title_asc'],
  ['search "linen"', '/v1/store/products?limit=20&region=eu&q=linen'],
  ['search "linen", price lowest first', '/v1/store/products?limit=20&region=eu&q=linen&sort=price_asc'],
  ['search "linen", price highest first', '/v1/store/products?limit=20&region=eu&q=linen&sort=price_desc'],
  ['search "linen", newest first', '/v1/store/products?limit=20&region=eu&q=linen&sort=newest'],
  [
    'search "linen" from 50 €, price lowest first',
    '/v1/store/products?limit=20&region=eu&q=linen&price_min=5000&sort=price_asc',
  ],
  ['search "linen", by title', '/v1/store/products?limit=20&region=eu&q=linen&sort=title_asc'],
  // Sizes 36-39 are the socks' only (one product type in twelve).
  ['size 36-39, by title', '/v1/store/products?limit=20&region=eu&option=Size:36-39&sort=title_asc'],
  // Twelve t-shirts at every size (scripts/lib/demo-catalog.mjs), in a category of five product types in twelve.
  [
    'apparel in the limited collection, by title',
    '/v1/store/products?limit=20&region=eu&category=apparel&collection=limited&sort=title_asc',
  ],
];

/**
 * The read-model part of catalog writes measured: scope, key (a handle, or the region's code), and how many runs
 * (WRITE_RUNS unless given).
 */
const WRITES = [
  ['one product', 'product', null],
  ['category `tops` renamed (with subcategories)', 'category', 'tops'],
  ['category `apparel` moved: one step, 1,000 products', 'category-moved', 'apparel'],
  [
    'collection `summer`: a new product list (documents, then one step of 1,000 products)',
    'collection',
    'summer',
  ],
  ['collection `summer` renamed', 'collection-renamed', 'summer'],
  ['region `eu` (currency or locales): one step, 1,000 products', 'region', 'eu'],
  [
    "1,000 entries of `eu`'s English lane sharing one label, spread again (the storefront-rebuild job's reads and batches)",
    'title-respread',
    '1000',
  ],
  // Last, and once: they delete what they name.
  ['leaf category `kitchen` deleted (documents, one step, the delete)', 'category-deleted', 'kitchen', 1],
  ['collection `summer` deleted (documents, one step, the delete)', 'collection-deleted', 'summer', 1],
  ['region `eu` deleted (one step, 1,000 products, the delete)', 'region-deleted', 'eu', 1],
  ["region `eu` deleted: the deletion's next step, 1,000 products", 'region-deletion-step', 'eu', 1],
];
const WRITE_RUNS = 3;

function build() {
  buildWorker();
  return esbuild({
    entryPoints: ['bench/listing-probe.ts', 'bench/write-probe.ts'],
    bundle: true,
    format: 'esm',
    // Resolved as wrangler resolves the Worker's own imports.
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2024',
    outdir: 'bench/.build',
    logLevel: 'warning',
  });
}

/** Applies the migrations and seeds the demo catalog of `size` products; returns the seconds seeding took and
 * the first active product's handle. */
async function seed(mf, size) {
  const db = await mf.getD1Database('DB');
  await applyMigrations(db);
  const started = Date.now();
  const handle = await seedDemoCatalog(db, size);
  const seconds = (Date.now() - started) / 1000;
  return { seconds, handle };
}

/** Sequential cache MISSes of one listing: latency percentiles, and the listing's D1 cost from the probe. */
async function missCost(base, probe, path) {
  const times = [];
  for (let i = 0; i < MISS_REQUESTS + 3; i++) {
    const started = performance.now();
    const res = await fetch(`${base}${path}&bench=${i}`);
    await res.arrayBuffer();
    if (res.status !== 200 || res.headers.get('X-Cache') !== 'MISS') {
      throw new Error(`${path}: ${res.status} ${res.headers.get('X-Cache')}`);
    }
    if (i >= 3) times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const cost = await (await probe.fetch(`http://probe${path.slice(path.indexOf('?'))}`)).json();
  return { p50: percentile(times, 50), p99: percentile(times, 99), ...cost };
}

/** One kind of write's read-model batch, `times` times: the median time and its rows (the same every run). */
async function writeCost(writer, scope, key, times) {
  const runs = [];
  for (let i = 0; i < times; i++) {
    const res = await writer.fetch(`http://writer/?scope=${scope}&key=${encodeURIComponent(key)}`);
    if (res.status !== 200) throw new Error(`${scope} ${key}: ${res.status} ${await res.text()}`);
    runs.push(await res.json());
  }
  runs.sort((a, b) => a.ms - b.ms);
  return runs[Math.floor(runs.length / 2)];
}

const throughputRow = (name, r, ceiling) =>
  `| ${name} | ${Math.round(r.requests.average)} | ${r.latency.p50} | ${r.latency.p99} | ${r.errors + r.timeouts + r.non2xx} | ${
    ceiling ? `${Math.round((100 * r.requests.average) / ceiling)}%` : '100%'
  } |`;

async function throughput(base, handle) {
  const list = '/v1/store/products?limit=20&region=eu';
  const detail = `/v1/store/products/${handle}?region=eu`;
  for (const path of [list, detail]) await fetch(`${base}${path}`).then((r) => r.arrayBuffer());
  const hello = startWorkers(HELLO_PORT, [{ name: 'hello', scriptPath: 'bench/hello-worker.js' }]);
  await hello.ready;
  const options = { connections: CONNECTIONS, duration: DURATION };
  const ceiling = await load(`http://${HOST}:${HELLO_PORT}`, () => '/', options);
  await hello.dispose();
  const avg = ceiling.requests.average;
  return [
    throughputRow('bare hello-world Worker', ceiling),
    throughputRow('`GET /v1/store/products?limit=20` cache HIT', await load(base, () => list, options), avg),
    // A distinct, valid price_min per request is part of the cache key, so every request misses and runs the query.
    throughputRow(
      '`GET /v1/store/products?limit=20` cache MISS',
      await load(base, (i) => `${list}&price_min=${i}`, options),
      avg,
    ),
    throughputRow(
      '`GET /v1/store/products/{handle}` cache HIT',
      await load(base, () => detail, options),
      avg,
    ),
  ];
}

async function measure(size) {
  const mf = startWorkers(APP_PORT, [
    edgecartWorker({ database: 'bench-db', declared: ['AUTH_IP_RATE_LIMITER', 'AUTH_ACCOUNT_RATE_LIMITER'] }),
    { name: 'probe', scriptPath: 'bench/.build/listing-probe.js', d1Databases: { DB: 'bench-db' } },
    { name: 'writer', scriptPath: 'bench/.build/write-probe.js', d1Databases: { DB: 'bench-db' } },
  ]);
  await mf.ready;
  try {
    const { seconds, handle } = await seed(mf, size);
    const base = `http://${HOST}:${APP_PORT}`;
    const probe = await mf.getWorker('probe');
    const miss = [];
    if (runs('miss')) {
      for (const [name, path] of LISTINGS) miss.push({ name, ...(await missCost(base, probe, path)) });
    }
    const writes = [];
    if (runs('writes')) {
      const writer = await mf.getWorker('writer');
      for (const [name, scope, key, times = WRITE_RUNS] of WRITES) {
        writes.push({ name, ...(await writeCost(writer, scope, key ?? handle, times)) });
      }
    }
    const hits = runs('throughput') ? await throughput(base, handle) : [];
    return { size, seconds, miss, writes, hits };
  } finally {
    await mf.dispose();
  }
}

const ms = (value) => value.toFixed(1);

/**
 * One Markdown row per measured scenario and catalog size, sizes side by side: the scenario's name, the size,
 * then `cells` of that run's result for it (`kind`: which of the run's result lists).
 */
function rowsPerSize(runs, kind, scenarios, cells) {
  return scenarios.flatMap(([name]) =>
    runs.map((run) => {
      const result = run[kind].find((x) => x.name === name);
      return `| ${[name, run.size.toLocaleString('en'), ...cells(result)].join(' | ')} |`;
    }),
  );
}

async function main() {
  await build();
  const runs = [];
  for (const size of SIZES) runs.push(await measure(size));
  const runtime = `Miniflare ${MINIFLARE_VERSION} (workerd, real local D1/KV/Cache, no dev proxy)`;
  const lines = [
    `Runtime: ${runtime}. Demo catalog seeded in: ${runs.map((r) => `${r.size} products ${Math.round(r.seconds)} s`).join(', ')}.`,
  ];
  if (runs[0].miss.length > 0) {
    lines.push(
      '',
      `Cache MISS of \`GET /v1/store/products\` (limit 20, region eu), ${MISS_REQUESTS} sequential requests per row:`,
      '',
      '| listing | products | MISS p50 ms | MISS p99 ms | D1 round trips | rows read | rows read per product returned |',
      '|---|---|---|---|---|---|---|',
      ...rowsPerSize(runs, 'miss', LISTINGS, (m) => [
        ms(m.p50),
        ms(m.p99),
        m.round_trips,
        m.rows_read,
        (m.rows_read / Math.max(1, m.products)).toFixed(1),
      ]),
    );
  }
  if (runs[0].writes.length > 0) {
    lines.push(
      '',
      `The storefront read model's part of a catalog write's batch, median of ${WRITE_RUNS} runs (a delete: one):`,
      '',
      '| write | products | batch ms | statements | rows read | rows written |',
      '|---|---|---|---|---|---|',
      ...rowsPerSize(runs, 'writes', WRITES, (w) => [
        w.ms,
        w.statements,
        w.rows_read.toLocaleString('en'),
        w.rows_written.toLocaleString('en'),
      ]),
    );
  }
  for (const run of runs.filter((r) => r.hits.length > 0)) {
    lines.push(
      '',
      `Throughput at ${run.size.toLocaleString('en')} products, ${CONNECTIONS} connections, ${DURATION} s per scenario:`,
      '',
      '| scenario | req/s | p50 ms | p99 ms | errors + non-2xx | vs hello-world |',
      '|---|---|---|---|---|---|',
      ...run.hits,
    );
  }
  const table = lines.join('\n');
  console.log(table);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/latest.md', `${table}\n`);
}

main().catch((error) => {
  console.error(`Benchmark failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
