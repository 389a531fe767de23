// `npm run bench:live [-- --subscribers 1000] [-- --rounds 20] [-- --transport direct|session] [-- --deflate]`
// One product topic with many WebSocket subscribers: the time from a stock change (the staff PUT that sets on-hand,
// sent over HTTP) to its `stock` event reaching every subscriber. `direct` (the default) connects each to
// `/v1/live/channel?topic=` (its socket held by the topic's channel); `session` to `/v1/live?topics=` (a live session
// in the Worker between the client and the channel). `--deflate`: the subscribers offer permessage-deflate, as
// browsers do (see `subscriber`). It also reports the memory of the local runtime (RSS of the
// workerd process) before and after the subscribers connect. Builds the Worker as `wrangler deploy` would and runs
// it on Miniflare's Node API (workerd, real local D1, SQLite-backed Durable Objects, no dev proxy) with the demo
// catalog. Prints one Markdown table (also bench/results/live.md). Only targets 127.0.0.1; stops itself.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import {
  applyMigrations,
  buildWorker,
  cpuSeconds,
  edgecartWorker,
  flag,
  hasFlag,
  insertSecretKey,
  loadAverage,
  MINIFLARE_VERSION,
  numberFlag,
  percentile,
  seedDemoCatalog,
  startWorkers,
  workerdPid,
} from './lib/runtime.mjs';

const SUBSCRIBERS = numberFlag('subscribers', 1000);
const ROUNDS = numberFlag('rounds', 20);
const TRANSPORT = flag('transport', 'direct');
const PATHS = { direct: '/v1/live/channel?topic=', session: '/v1/live?topics=' };
if (!(TRANSPORT in PATHS)) throw new Error(`--transport is direct or session, not ${TRANSPORT}`);
const DEFLATE = hasFlag('deflate');
/** Connections opened at once while subscribing (the handshakes queue on 2 cores otherwise). */
const CONNECT_BATCH = 50;
/** Only a hang: every event that is coming arrives far sooner. */
const HANG_MS = 60_000;

function start() {
  return startWorkers(0, [
    edgecartWorker({
      database: 'bench-live-db',
      declared: ['INVENTORY_ITEM', 'LIVE_CHANNEL', 'AUTH_IP_RATE_LIMITER', 'AUTH_ACCOUNT_RATE_LIMITER'],
      vars: { PAYMENT_PROVIDERS: 'manual', PAYMENT_TIMEOUT_MS: '10000' },
    }),
  ]);
}

/** The schema, the demo catalog and a secret key; returns an active product's id, a variant of it and the key. */
async function seed(mf) {
  const db = await mf.getD1Database('DB');
  await applyMigrations(db);
  await seedDemoCatalog(db);
  const key = await insertSecretKey(db, 'live bench');
  const variant = await db
    .prepare(
      `SELECT v.id, v.product_id FROM variants v JOIN products p ON p.id = v.product_id
       WHERE p.status = 'active' ORDER BY p.handle, v.position LIMIT 1`,
    )
    .first();
  return { productId: variant.product_id, variantId: variant.id, key, db };
}

/** The resident memory of the workerd process (the runtime holding every socket), in MB. */
function workerdRssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024);
}

/** This process's CPU time (the subscribers' side), in ms. */
function clientCpuMs() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function withHangGuard(promise, what) {
  let timer;
  const hang = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${HANG_MS} ms`)), HANG_MS);
  });
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
}

/**
 * One subscriber: a WebSocket following the topic from the URL. `arrivals` maps each stock event's seq to when it
 * arrived here (performance.now()); `wallClock` to the system clock then (Date.now(), what the runtime's
 * timestamps use); `sinceSent` to the milliseconds since its channel sent it (the event's `at`); `waitFor(seq)`
 * resolves once that event has arrived. Unless `--deflate`, it does not offer permessage-deflate: edgecart's Worker
 * runs with `no_web_socket_compression` (docs/ARCHITECTURE.md, Decisions), which decides for the deployed Worker,
 * but locally a client that offers it still gets it. (`ws`, not Node's WebSocket, which always offers it.)
 */
function subscriber(url) {
  const ws = new WebSocket(url, { perMessageDeflate: DEFLATE });
  const arrivals = new Map();
  const wallClock = new Map();
  const sinceSent = new Map();
  const waiting = new Map();
  const subscribed = new Promise((resolve, reject) => {
    ws.addEventListener('error', () => reject(new Error('subscriber socket failed')));
    ws.addEventListener('message', (event) => {
      const message = JSON.parse(event.data);
      if (message.type === 'subscribed') resolve();
      if (message.type !== 'stock') return;
      arrivals.set(message.seq, performance.now());
      wallClock.set(message.seq, Date.now());
      sinceSent.set(message.seq, wallClock.get(message.seq) - Date.parse(message.at));
      waiting.get(message.seq)?.();
    });
  });
  return {
    ws,
    subscribed,
    arrivals,
    wallClock,
    sinceSent,
    waitFor: (seq) =>
      arrivals.has(seq) ? Promise.resolve() : new Promise((resolve) => waiting.set(seq, resolve)),
  };
}

const round1 = (ms) => Math.round(ms * 10) / 10;

async function main() {
  buildWorker();
  const mf = start();
  const base = (await mf.ready).origin;
  const workerd = workerdPid(0);
  const workerdCpuMs = () => cpuSeconds(workerd) * 1000;
  const { productId, variantId, key, db } = await seed(mf);
  const topic = `product:${productId}`;
  const loadBefore = loadAverage();
  const rssIdle = workerdRssMb(workerd);

  const wsUrl = `${base.replace('http', 'ws')}${PATHS[TRANSPORT]}${topic}`;
  const subscribers = [];
  const connectStart = performance.now();
  for (let i = 0; i < SUBSCRIBERS; i += CONNECT_BATCH) {
    const batch = Array.from({ length: Math.min(CONNECT_BATCH, SUBSCRIBERS - i) }, () => subscriber(wsUrl));
    await withHangGuard(Promise.all(batch.map((s) => s.subscribed)), 'subscribing');
    subscribers.push(...batch);
  }
  const connectSeconds = (performance.now() - connectStart) / 1000;
  const rssSubscribed = workerdRssMb(workerd);

  // Each round sets on-hand to a new figure: one stock event (seq = round) for every subscriber.
  const sinceChange = [];
  const endToEnd = [];
  const fanOut = [];
  const answered = [];
  const spread = [];
  const cpuBefore = { workerd: workerdCpuMs(), clients: clientCpuMs() };
  for (let seq = 1; seq <= ROUNDS; seq++) {
    const sentAt = performance.now();
    const onHand = 1_000 + seq;
    const res = await fetch(`${base}/v1/admin/inventory/${variantId}`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ on_hand: onHand, reason: 'live bench' }),
    });
    if (res.status !== 200) throw new Error(`PUT answered ${res.status}: ${await res.text()}`);
    answered.push(performance.now() - sentAt);
    await withHangGuard(Promise.all(subscribers.map((s) => s.waitFor(seq))), `round ${seq}`);
    // When the InventoryItem changed the stock (its clock, kept in its ledger; the PUT answers once D1 has it).
    const change = await db
      .prepare('SELECT changed_at FROM inventory_changes WHERE variant_id = ? AND on_hand_after = ?')
      .bind(variantId, onHand)
      .first();
    sinceChange.push(...subscribers.map((s) => s.wallClock.get(seq) - change.changed_at));
    const times = subscribers.map((s) => s.arrivals.get(seq) - sentAt);
    endToEnd.push(...times);
    fanOut.push(...subscribers.map((s) => s.sinceSent.get(seq)));
    spread.push(Math.max(...times) - Math.min(...times));
  }
  const deliveries = ROUNDS * SUBSCRIBERS;
  const cpuPerDelivery = {
    workerd: ((workerdCpuMs() - cpuBefore.workerd) * 1000) / deliveries,
    clients: ((clientCpuMs() - cpuBefore.clients) * 1000) / deliveries,
  };
  const rssAfter = workerdRssMb(workerd);
  const u = process.cpuUsage();
  console.log('DEBUG user/system ms', u.user / 1000, u.system / 1000);
  const loadAfter = loadAverage();
  for (const s of subscribers) s.ws.close(1000, 'done');
  await mf.dispose();

  sinceChange.sort((a, b) => a - b);
  endToEnd.sort((a, b) => a - b);
  fanOut.sort((a, b) => a - b);
  answered.sort((a, b) => a - b);
  spread.sort((a, b) => a - b);
  const table = [
    `Runtime: Miniflare ${MINIFLARE_VERSION} (workerd, SQLite-backed Durable Objects, local D1), demo catalog, ${new Date().toISOString().slice(0, 10)}. Subscribers are Node WebSockets on the same 2 cores.`,
    `Load before: load average: ${loadBefore}; after: load average: ${loadAfter}.`,
    '',
    '| measure | value |',
    '|---|---|',
    `| subscribers on one product topic (transport) | ${SUBSCRIBERS}, ${TRANSPORT}${DEFLATE ? ', permessage-deflate' : ''} (connected in ${round1(connectSeconds)} s) |`,
    `| stock changes (staff PUT, one at a time) | ${ROUNDS} |`,
    `| stock changed (the InventoryItem's write) -> stock event at a subscriber, p50 / p99 / max (ms, 1 ms resolution) | ${percentile(sinceChange, 50)} / ${percentile(sinceChange, 99)} / ${sinceChange.at(-1)} |`,
    `| PUT sent -> stock event at a subscriber (adds the request's authentication and reads before the write), p50 / p99 / max (ms) | ${round1(percentile(endToEnd, 50))} / ${round1(percentile(endToEnd, 99))} / ${round1(endToEnd.at(-1))} |`,
    `| channel sent it (\`at\`) -> at a subscriber, p50 / p99 / max (ms, 1 ms resolution) | ${percentile(fanOut, 50)} / ${percentile(fanOut, 99)} / ${fanOut.at(-1)} |`,
    `| PUT sent -> PUT answered, p50 / max (ms) | ${round1(percentile(answered, 50))} / ${round1(answered.at(-1))} |`,
    `| first -> last subscriber of one event, p50 / max (ms) | ${round1(percentile(spread, 50))} / ${round1(spread.at(-1))} |`,
    `| CPU per delivered event: workerd / Node subscribers (µs; the rounds' PUTs included) | ${Math.round(cpuPerDelivery.workerd)} / ${Math.round(cpuPerDelivery.clients)} |`,
    `| workerd RSS idle / ${SUBSCRIBERS} subscribed / after the rounds (MB) | ${rssIdle} / ${rssSubscribed} / ${rssAfter} |`,
    `| workerd RSS per subscriber (KB) | ${Math.round(((rssSubscribed - rssIdle) * 1024) / SUBSCRIBERS)} |`,
  ].join('\n');
  console.log(table);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/live.md', `${table}\n`);
}

main().catch((error) => {
  console.error(`Benchmark failed: ${error.message}`);
  process.exit(1);
});
