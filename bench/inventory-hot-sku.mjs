// `npm run bench:inventory [-- --quick] [-- --duration 10]`
// One hot SKU: how many reservations per second its InventoryItem object takes, and what happens above that.
// Builds the Worker as `wrangler deploy` would and runs it on Miniflare's Node API (workerd, real local D1 and
// SQLite-backed Durable Objects, no dev proxy), with a small driver Worker (bench/inventory-driver.js) that calls
// the object over RPC as carts will. Loads the driver with autocannon at rising concurrency and prints one
// Markdown table (also bench/results/inventory-hot-sku.md). Only targets 127.0.0.1; stops itself.
import { mkdirSync, writeFileSync } from 'node:fs';
import {
  applyMigrations,
  buildWorker,
  edgecartWorker,
  hasFlag,
  load,
  loadAverage,
  MINIFLARE_VERSION,
  numberFlag,
  startWorkers,
} from './lib/runtime.mjs';

const DURATION = hasFlag('quick') ? 3 : numberFlag('duration', 10);
/** Set once Miniflare listens, on a free port of its choosing (other benchmarks may hold fixed ones). */
let BASE = '';
const FLASH_STOCK = 100;

function start() {
  return startWorkers(0, [
    {
      name: 'driver',
      scriptPath: 'bench/inventory-driver.js',
      durableObjects: {
        INVENTORY_ITEM: { className: 'InventoryItem', scriptName: 'edgecart', useSQLite: true },
      },
    },
    edgecartWorker({ database: 'bench-inventory-db', declared: ['INVENTORY_ITEM', 'LIVE_CHANNEL'] }),
  ]);
}

async function setOnHand(onHand) {
  const res = await fetch(`${BASE}/setup?on_hand=${onHand}`, { method: 'POST' });
  if (!res.ok) throw new Error(`setup failed: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Loads one driver route with a fixed `amount` of requests or for a `duration` in seconds. */
const drive = ({ path, ...options }) => load(BASE, path, { timeout: 120, ...options });

const codes = (r) => r.statusCodeStats ?? {};
const count = (r, status) => codes(r)[status]?.count ?? 0;

function row(name, connections, r, rpcsPerRequest) {
  const answered = count(r, '200') + count(r, '409');
  const perSecond = answered / (r.duration || 1);
  const rpcs = rpcsPerRequest ? Math.round(perSecond * rpcsPerRequest) : '-';
  const failed = count(r, '503') + r.errors + r.timeouts;
  return `| ${name} | ${connections} | ${answered} | ${Math.round(perSecond)} | ${rpcs} | ${r.latency.p50} | ${r.latency.p99} | ${r.latency.max} | ${count(r, '409')} | ${failed} |`;
}

async function main() {
  buildWorker();
  const mf = start();
  BASE = (await mf.ready).origin;
  // The object writes its ledger and levels to D1, so the schema must be there.
  await applyMigrations(await mf.getD1Database('DB', 'edgecart'));
  const loadBefore = loadAverage();
  const rows = [];

  await setOnHand(1_000_000);
  rows.push(
    row(
      'Worker only (`/noop`, no object)',
      50,
      await drive({ path: '/noop', connections: 50, duration: DURATION }),
    ),
  );
  rows.push(
    row(
      'snapshot (read RPC)',
      50,
      await drive({ path: '/snapshot', connections: 50, duration: DURATION }),
      1,
    ),
  );
  for (const connections of [1, 10, 50]) {
    const r = await drive({ path: '/cycle', connections, duration: DURATION });
    rows.push(row('reserve + release', connections, r, 2));
  }
  // Above the object's rate requests queue: a fixed number per connection shows how long they wait.
  for (const connections of [200, 1000]) {
    const r = await drive({ path: '/cycle', connections, amount: connections * 3 });
    rows.push(row('reserve + release, 3 per connection', connections, r, 2));
  }
  const holdsBefore = (await (await fetch(`${BASE}/snapshot`)).json()).reservation_count;
  const accumulate = await drive({ path: '/reserve', connections: 50, duration: DURATION });
  const holdsAfter = (await (await fetch(`${BASE}/snapshot`)).json()).reservation_count;
  rows.push(row(`reserve, holds accumulate (${holdsBefore} -> ${holdsAfter} active)`, 50, accumulate, 1));

  // Flash sale: 2,000 attempts from 200 connections on 100 units; exactly 100 must be held.
  await setOnHand(holdsAfter + FLASH_STOCK);
  const flash = await drive({ path: '/reserve', connections: 200, amount: 2_000 });
  const after = await (await fetch(`${BASE}/snapshot`)).json();
  rows.push(row(`flash sale: 2,000 attempts on ${FLASH_STOCK} units`, 200, flash, 1));
  const loadAfter = loadAverage();
  await mf.dispose();

  const table = [
    `Runtime: Miniflare ${MINIFLARE_VERSION} (workerd, SQLite-backed Durable Objects, local D1), one SKU, ${DURATION} s per row, ${new Date().toISOString().slice(0, 10)}.`,
    `Load before: load average: ${loadBefore}; after: load average: ${loadAfter} (2 cores, shared).`,
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
