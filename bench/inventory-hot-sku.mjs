// `npm run bench:inventory [-- --quick] [-- --duration 10]`
// One hot SKU: how many reservations per second its InventoryItem object takes, and what happens above that.
// Builds the Worker as `wrangler deploy` would and runs it on Miniflare's Node API (workerd, real local D1 and
// SQLite-backed Durable Objects, no dev proxy), with a small driver Worker (bench/inventory-driver.js) that calls
// the object over RPC as carts will. Loads the driver with autocannon at rising concurrency and prints one
// Markdown table (also bench/results/inventory-hot-sku.md). Only targets 127.0.0.1; stops itself.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const DURATION = args.includes('--quick') ? 3 : flag('duration', 10);
const HOST = '127.0.0.1';
/** Set once Miniflare listens, on a free port of its choosing (other benchmarks may hold fixed ones). */
let BASE = '';
const COMPATIBILITY_DATE = /compatibility_date = "([\d-]+)"/.exec(readFileSync('wrangler.toml', 'utf8'))[1];
const FLASH_STOCK = 100;

function build() {
  const result = spawnSync(
    'npx',
    ['--no-install', 'wrangler', 'deploy', '--dry-run', '--outdir', 'bench/.build'],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } },
  );
  if (result.status !== 0) throw new Error('wrangler build failed');
}

function start() {
  return new Miniflare(
    convertV4MiniflareOptions({
      host: HOST,
      port: 0,
      handleStructuredLogs: () => {},
      workers: [
        {
          name: 'driver',
          modules: true,
          compatibilityDate: COMPATIBILITY_DATE,
          scriptPath: 'bench/inventory-driver.js',
          durableObjects: {
            INVENTORY_ITEM: { className: 'InventoryItem', scriptName: 'edgecart', useSQLite: true },
          },
        },
        {
          name: 'edgecart',
          modules: true,
          compatibilityDate: COMPATIBILITY_DATE,
          scriptPath: 'bench/.build/index.js',
          d1Databases: { DB: 'bench-inventory-db' },
          kvNamespaces: ['KV'],
          durableObjects: {
            INVENTORY_ITEM: { className: 'InventoryItem', useSQLite: true },
            LIVE_CHANNEL: { className: 'LiveChannel', useSQLite: true },
          },
          bindings: { ENVIRONMENT: 'production', JWT_SIGNING_KEYS: '[]', DATA_ENCRYPTION_KEYS: '[]' },
        },
      ],
    }),
  );
}

/** The object writes its ledger and levels to D1, so the schema must be there. */
async function migrate(mf) {
  const db = await mf.getD1Database('DB', 'edgecart');
  for (const file of readdirSync('migrations')
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    for (const statement of readFileSync(`migrations/${file}`, 'utf8').split('--> statement-breakpoint')) {
      if (statement.trim()) await db.prepare(statement).run();
    }
  }
}

async function setOnHand(onHand) {
  const res = await fetch(`${BASE}/setup?on_hand=${onHand}`, { method: 'POST' });
  if (!res.ok) throw new Error(`setup failed: ${res.status} ${await res.text()}`);
  return res.json();
}

/** A fixed `amount` of requests (every one answered, however long it queued) or a `duration` in seconds. */
function load({ path, connections, duration, amount }) {
  return new Promise((resolve, reject) => {
    autocannon(
      { url: `${BASE}${path}`, connections, timeout: 120, ...(amount ? { amount } : { duration }) },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

const codes = (r) => r.statusCodeStats ?? {};
const count = (r, status) => codes(r)[status]?.count ?? 0;

function row(name, connections, r, rpcsPerRequest) {
  const answered = count(r, '200') + count(r, '409');
  const perSecond = answered / (r.duration || 1);
  const rpcs = rpcsPerRequest ? Math.round(perSecond * rpcsPerRequest) : '-';
  const failed = count(r, '503') + r.errors + r.timeouts;
  return `| ${name} | ${connections} | ${answered} | ${Math.round(perSecond)} | ${rpcs} | ${r.latency.p50} | ${r.latency.p99} | ${r.latency.max} | ${count(r, '409')} | ${failed} |`;
}

const uptime = () =>
  execFileSync('uptime', { encoding: 'utf8' })
    .trim()
    .replace(/^.*load average:/, 'load average:');

async function main() {
  build();
  const mf = start();
  BASE = (await mf.ready).origin;
  await migrate(mf);
  const loadBefore = uptime();
  const rows = [];

  await setOnHand(1_000_000);
  rows.push(
    row(
      'Worker only (`/noop`, no object)',
      50,
      await load({ path: '/noop', connections: 50, duration: DURATION }),
    ),
  );
  rows.push(
    row('snapshot (read RPC)', 50, await load({ path: '/snapshot', connections: 50, duration: DURATION }), 1),
  );
  for (const connections of [1, 10, 50]) {
    const r = await load({ path: '/cycle', connections, duration: DURATION });
    rows.push(row('reserve + release', connections, r, 2));
  }
  // Above the object's rate requests queue: a fixed number per connection shows how long they wait.
  for (const connections of [200, 1000]) {
    const r = await load({ path: '/cycle', connections, amount: connections * 3 });
    rows.push(row('reserve + release, 3 per connection', connections, r, 2));
  }
  const holdsBefore = (await (await fetch(`${BASE}/snapshot`)).json()).reservation_count;
  const accumulate = await load({ path: '/reserve', connections: 50, duration: DURATION });
  const holdsAfter = (await (await fetch(`${BASE}/snapshot`)).json()).reservation_count;
  rows.push(row(`reserve, holds accumulate (${holdsBefore} -> ${holdsAfter} active)`, 50, accumulate, 1));

  // Flash sale: 2,000 attempts from 200 connections on 100 units; exactly 100 must be held.
  await setOnHand(holdsAfter + FLASH_STOCK);
  const flash = await load({ path: '/reserve', connections: 200, amount: 2_000 });
  const after = await (await fetch(`${BASE}/snapshot`)).json();
  rows.push(row(`flash sale: 2,000 attempts on ${FLASH_STOCK} units`, 200, flash, 1));
  const loadAfter = uptime();
  await mf.dispose();

  const table = [
    `Runtime: Miniflare ${JSON.parse(readFileSync('node_modules/miniflare/package.json', 'utf8')).version} (workerd, SQLite-backed Durable Objects, local D1), one SKU, ${DURATION} s per row, ${new Date().toISOString().slice(0, 10)}.`,
    `Load before: ${loadBefore}; after: ${loadAfter} (2 cores, shared).`,
    '',
    '| scenario | connections | answered | answered req/s | object RPCs/s | p50 ms | p99 ms | max ms | 409 out of stock | errors (503, socket, timeout) |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Flash sale: ${count(flash, '200')} held (must be ${FLASH_STOCK}), ${count(flash, '409')} refused; afterwards available = ${after.available} (never below 0).`,
  ].join('\n');
  console.log(table);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/inventory-hot-sku.md', `${table}\n`);
  if (count(flash, '200') !== FLASH_STOCK || after.available !== 0) process.exitCode = 1;
}

main().catch((error) => {
  console.error(`Benchmark failed: ${error.message}`);
  process.exit(1);
});
