// `npm run bench [-- --products 200[,20000,100000]] [-- --only miss|throughput] [-- --requests 100] [-- --quick]
//  [-- --duration 10] [-- --connections 20]`
// Builds the Worker as `wrangler deploy` would, runs it on Miniflare's Node API (workerd with the real local
// D1/KV/Cache bindings and no dev proxy in front), seeds the demo catalog at each size given, and measures:
// - miss: what an uncached storefront listing costs, one scenario at a time (newest, price sort, a category, a
//   price range, a search): sequential requests, each a cache MISS (a distinct `bench` parameter makes each URL,
//   and so each cache key, new), with p50/p99 latency, plus the D1 round trips and rows read of that listing
//   counted by bench/listing-probe.ts, which runs the route's own read functions through a metered D1 binding.
// - throughput: autocannon against cache HITs and MISSes next to a bare hello-world Worker on the same runtime.
// Prints Markdown tables and writes them to bench/results/latest.md; only targets 127.0.0.1; stops itself.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { build as esbuild } from 'esbuild';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { buildDemoCatalog } from '../scripts/lib/demo-catalog.mjs';
import { demoCatalogStatements, READ_MODEL_INDEXES_QUERY } from '../scripts/seed.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const QUICK = args.includes('--quick');
const DURATION = QUICK ? 3 : Number(option('duration', 10));
const CONNECTIONS = Number(option('connections', 20));
const MISS_REQUESTS = QUICK ? 20 : Number(option('requests', 100));
const SIZES = option('products', '200').split(',').map(Number);
const ONLY = option('only', undefined);
const HOST = '127.0.0.1';
const APP_PORT = 8797;
const HELLO_PORT = 8798;
const STATEMENTS_PER_BATCH = 50;
const COMPATIBILITY_DATE = /compatibility_date = "([\d-]+)"/.exec(readFileSync('wrangler.toml', 'utf8'))[1];

/** The listings whose MISS cost is measured: the demo catalog's region, category and a common search word. */
const LISTINGS = [
  ['newest', '/v1/store/products?limit=20&region=eu'],
  ['price, lowest first', '/v1/store/products?limit=20&region=eu&sort=price_asc'],
  ['category (with subcategories)', '/v1/store/products?limit=20&region=eu&category=tops'],
  ['price range 20-60 €', '/v1/store/products?limit=20&region=eu&price_min=2000&price_max=6000'],
  ['search "linen"', '/v1/store/products?limit=20&region=eu&q=linen'],
];

function build() {
  const result = spawnSync(
    'npx',
    ['--no-install', 'wrangler', 'deploy', '--dry-run', '--outdir', 'bench/.build'],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    },
  );
  if (result.status !== 0) throw new Error('wrangler build failed');
  return esbuild({
    entryPoints: ['bench/listing-probe.ts'],
    bundle: true,
    format: 'esm',
    // Resolved as wrangler resolves the Worker's own imports.
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2024',
    outfile: 'bench/.build/listing-probe.js',
    logLevel: 'warning',
  });
}

function miniflare(port, workers) {
  return new Miniflare(
    convertV4MiniflareOptions({
      host: HOST,
      port,
      // One JSON log line per request is kept but not printed: the tables are the output.
      handleStructuredLogs: () => {},
      workers: workers.map((w) => ({ modules: true, compatibilityDate: COMPATIBILITY_DATE, ...w })),
    }),
  );
}

async function inBatches(db, statements) {
  for (let i = 0; i < statements.length; i += STATEMENTS_PER_BATCH) {
    await db.batch(statements.slice(i, i + STATEMENTS_PER_BATCH).map((s) => db.prepare(s)));
  }
}

/** Applies the migrations and seeds the demo catalog of `size` products; returns the seconds seeding took. */
async function seed(mf, size) {
  const db = await mf.getD1Database('DB');
  for (const file of readdirSync('migrations')
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    const statements = readFileSync(`migrations/${file}`, 'utf8').split('--> statement-breakpoint');
    await inBatches(
      db,
      statements.filter((s) => s.trim()),
    );
  }
  const started = Date.now();
  const indexes = (await db.prepare(READ_MODEL_INDEXES_QUERY).all()).results;
  await inBatches(db, demoCatalogStatements(buildDemoCatalog(size), indexes));
  const seconds = (Date.now() - started) / 1000;
  const handle = (
    await db.prepare("SELECT handle FROM products WHERE status = 'active' ORDER BY handle LIMIT 1").first()
  ).handle;
  return { seconds, handle };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
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

function load(title, base, paths) {
  let i = 0;
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: base,
        title,
        connections: CONNECTIONS,
        duration: DURATION,
        requests: [{ setupRequest: (req) => ({ ...req, path: paths(i++) }) }],
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

const throughputRow = (name, r, ceiling) =>
  `| ${name} | ${Math.round(r.requests.average)} | ${r.latency.p50} | ${r.latency.p99} | ${r.errors + r.timeouts + r.non2xx} | ${
    ceiling ? `${Math.round((100 * r.requests.average) / ceiling)}%` : '100%'
  } |`;

async function throughput(base, handle) {
  const list = '/v1/store/products?limit=20&region=eu';
  const detail = `/v1/store/products/${handle}?region=eu`;
  for (const path of [list, detail]) await fetch(`${base}${path}`).then((r) => r.arrayBuffer());
  const hello = miniflare(HELLO_PORT, [{ name: 'hello', scriptPath: 'bench/hello-worker.js' }]);
  await hello.ready;
  const ceiling = await load('hello', `http://${HOST}:${HELLO_PORT}`, () => '/');
  await hello.dispose();
  const avg = ceiling.requests.average;
  return [
    throughputRow('bare hello-world Worker', ceiling),
    throughputRow('`GET /v1/store/products?limit=20` cache HIT', await load('hit', base, () => list), avg),
    // A distinct, valid price_min per request is part of the cache key, so every request misses and runs the query.
    throughputRow(
      '`GET /v1/store/products?limit=20` cache MISS',
      await load('miss', base, (i) => `${list}&price_min=${i}`),
      avg,
    ),
    throughputRow(
      '`GET /v1/store/products/{handle}` cache HIT',
      await load('detail', base, () => detail),
      avg,
    ),
  ];
}

const APP_BINDINGS = {
  ENVIRONMENT: 'production',
  CORS_ORIGINS: 'http://localhost',
  MAX_BODY_BYTES: '1048576',
  DEFAULT_REGION: 'us',
  PUBLIC_URL: 'http://localhost',
  EMAIL_PROVIDER: 'http',
  EMAIL_API_URL: 'http://127.0.0.1:9/unused',
  EMAIL_FROM: 'bench@localhost',
  EMAIL_API_KEY: 'unused',
  JWT_SIGNING_KEYS: '[]',
  DATA_ENCRYPTION_KEYS: '[]',
};

async function measure(size) {
  const mf = miniflare(APP_PORT, [
    {
      name: 'edgecart',
      scriptPath: 'bench/.build/index.js',
      d1Databases: { DB: 'bench-db' },
      kvNamespaces: ['KV'],
      bindings: APP_BINDINGS,
      ratelimits: {
        AUTH_IP_RATE_LIMITER: { namespace_id: '1001', simple: { limit: 30, period: 60 } },
        AUTH_ACCOUNT_RATE_LIMITER: { namespace_id: '1002', simple: { limit: 10, period: 60 } },
      },
    },
    { name: 'probe', scriptPath: 'bench/.build/listing-probe.js', d1Databases: { DB: 'bench-db' } },
  ]);
  await mf.ready;
  try {
    const { seconds, handle } = await seed(mf, size);
    const base = `http://${HOST}:${APP_PORT}`;
    const probe = await mf.getWorker('probe');
    const miss = [];
    if (ONLY !== 'throughput') {
      for (const [name, path] of LISTINGS) miss.push({ name, ...(await missCost(base, probe, path)) });
    }
    const hits = ONLY === 'miss' ? [] : await throughput(base, handle);
    return { size, seconds, miss, hits };
  } finally {
    await mf.dispose();
  }
}

const ms = (value) => value.toFixed(1);

async function main() {
  await build();
  const runs = [];
  for (const size of SIZES) runs.push(await measure(size));
  const runtime = `Miniflare ${JSON.parse(readFileSync('node_modules/miniflare/package.json', 'utf8')).version} (workerd, real local D1/KV/Cache, no dev proxy)`;
  const lines = [
    `Runtime: ${runtime}. Demo catalog seeded in: ${runs.map((r) => `${r.size} products ${Math.round(r.seconds)} s`).join(', ')}.`,
  ];
  if (ONLY !== 'throughput') {
    lines.push(
      '',
      `Cache MISS of \`GET /v1/store/products\` (limit 20, region eu), ${MISS_REQUESTS} sequential requests per row:`,
      '',
      '| listing | products | MISS p50 ms | MISS p99 ms | D1 round trips | rows read | rows read per product returned |',
      '|---|---|---|---|---|---|---|',
      ...LISTINGS.flatMap(([name]) =>
        runs.map((run) => {
          const m = run.miss.find((x) => x.name === name);
          return `| ${name} | ${run.size.toLocaleString('en')} | ${ms(m.p50)} | ${ms(m.p99)} | ${m.round_trips} | ${m.rows_read} | ${(m.rows_read / Math.max(1, m.products)).toFixed(1)} |`;
        }),
      ),
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
