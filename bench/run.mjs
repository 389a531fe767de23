// `npm run bench [-- --quick] [-- --duration 10] [-- --connections 20]`
// Builds the Worker as `wrangler deploy` would, runs it on Miniflare's Node API (workerd with the real local
// D1/KV/Cache bindings and no dev proxy in front), seeds the demo catalog, and loads it with autocannon next to
// a bare hello-world Worker on the same runtime. Prints one Markdown table; only targets 127.0.0.1; stops itself.
import { mkdirSync, writeFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { demoCatalogStatements } from '../scripts/seed.mjs';
import { applyMigrations, build, HOST, MINIFLARE_VERSION, worker } from './runtime.mjs';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const DURATION = args.includes('--quick') ? 3 : flag('duration', 10);
const CONNECTIONS = flag('connections', 20);
const APP_PORT = 8797;
const HELLO_PORT = 8798;

async function seed(mf) {
  const db = await mf.getD1Database('DB');
  await applyMigrations(db);
  for (const statement of demoCatalogStatements()) await db.prepare(statement).run();
  return (
    await db.prepare("SELECT handle FROM products WHERE status = 'active' ORDER BY handle LIMIT 1").first()
  ).handle;
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

const row = (name, r, ceiling) =>
  `| ${name} | ${Math.round(r.requests.average)} | ${r.latency.p50} | ${r.latency.p99} | ${r.errors + r.timeouts + r.non2xx} | ${
    ceiling ? `${Math.round((100 * r.requests.average) / ceiling)}%` : '100%'
  } |`;

async function main() {
  build();
  const app = worker('edgecart', APP_PORT, {
    scriptPath: 'bench/.build/index.js',
    d1Databases: { DB: 'bench-db' },
    kvNamespaces: ['KV'],
    bindings: {
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
    },
    ratelimits: {
      AUTH_IP_RATE_LIMITER: { namespace_id: '1001', simple: { limit: 30, period: 60 } },
      AUTH_ACCOUNT_RATE_LIMITER: { namespace_id: '1002', simple: { limit: 10, period: 60 } },
    },
  });
  const hello = worker('hello', HELLO_PORT, { scriptPath: 'bench/hello-worker.js' });
  await Promise.all([app.ready, hello.ready]);
  const handle = await seed(app);
  const base = `http://${HOST}:${APP_PORT}`;
  const list = '/v1/store/products?limit=20&region=eu';
  const detail = `/v1/store/products/${handle}?region=eu`;
  for (const path of [list, detail]) await fetch(`${base}${path}`).then((r) => r.arrayBuffer());

  const results = [];
  const ceiling = await load('hello', `http://${HOST}:${HELLO_PORT}`, () => '/');
  results.push(row('bare hello-world Worker', ceiling));
  const avg = ceiling.requests.average;
  results.push(row('`GET /v1/store/products?limit=20` cache HIT', await load('hit', base, () => list), avg));
  // A distinct, valid price_min per request is part of the cache key, so every request misses and runs the query.
  results.push(
    row(
      '`GET /v1/store/products?limit=20` cache MISS',
      await load('miss', base, (i) => `${list}&price_min=${i}`),
      avg,
    ),
  );
  results.push(
    row('`GET /v1/store/products/{handle}` cache HIT', await load('detail', base, () => detail), avg),
  );
  await Promise.all([app.dispose(), hello.dispose()]);

  const table = [
    `Runtime: Miniflare ${MINIFLARE_VERSION} (workerd, real local D1/KV/Cache, no dev proxy), ${CONNECTIONS} connections, ${DURATION} s per scenario, demo catalog (200 products).`,
    '',
    '| scenario | req/s | p50 ms | p99 ms | errors + non-2xx | vs hello-world |',
    '|---|---|---|---|---|---|',
    ...results,
  ].join('\n');
  console.log(table);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/latest.md', `${table}\n`);
}

main().catch((error) => {
  console.error(`Benchmark failed: ${error.message}`);
  process.exit(1);
});
