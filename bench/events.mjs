// `node bench/events.mjs [-- --quick] [-- --duration 10] [-- --connections 10] [-- --burst 1000]`
// The event backbone on the local queue: the Worker built as `wrangler deploy` builds it, on Miniflare's Node API,
// with the queues, consumers and dead-letter queue configured exactly as in wrangler.toml. Two scenarios:
//  - commit to consumer: clients POST password-reset requests (each commits one event, published after the
//    response in waitUntil), the email consumer handles each one; latency is the consumer's processed mark minus
//    the event's occurred_at, both D1's clock.
//  - burst: order.created rows written straight to the outbox, sent by the outbox sweep (the cron handler), and
//    handled by the email consumer (a confirmation mail into the dev mailbox) and the analytics consumer.
// Prints one Markdown table with the machine's load; only targets 127.0.0.1; stops itself.
import { execSync } from 'node:child_process';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { applyMigrations, build, MINIFLARE_VERSION, worker } from './runtime.mjs';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const QUICK = args.includes('--quick');
const DURATION = QUICK ? 3 : flag('duration', 10);
const CONNECTIONS = flag('connections', 10);
const BURST = QUICK ? 200 : flag('burst', 1000);

const load = () =>
  execSync('uptime')
    .toString()
    .trim()
    .replace(/^.*load average: /, '');

function start() {
  // The queue bindings and consumer settings of wrangler.toml, so the bench runs what deploys.
  const { workerOptions } = unstable_getMiniflareWorkerOptions('wrangler.toml');
  return worker('edgecart', 0, {
    scriptPath: 'bench/.build/index.js',
    d1Databases: { DB: 'bench-events-db' },
    kvNamespaces: ['KV'],
    queueProducers: workerOptions.queueProducers,
    queueConsumers: workerOptions.queueConsumers,
    analyticsEngineDatasets: workerOptions.analyticsEngineDatasets,
    bindings: {
      ENVIRONMENT: 'development',
      CORS_ORIGINS: 'http://localhost',
      MAX_BODY_BYTES: '1048576',
      DEFAULT_REGION: 'us',
      PUBLIC_URL: 'http://localhost',
      EMAIL_PROVIDER: 'dev-mailbox',
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
}

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/** Waits until `consumers` have processed every event of `type`; then the figures, all from D1's clock. */
async function drained(db, type, consumers, since) {
  const expected = await db
    .prepare('SELECT COUNT(*) AS n FROM outbox_events WHERE type = ? AND occurred_at >= ?')
    .bind(type, since)
    .first('n');
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`${type} events were not all consumed within 10 minutes`);
    const done = await db
      .prepare(
        `SELECT COUNT(*) AS n FROM processed_events p JOIN outbox_events e ON e.id = p.event_id
         WHERE e.type = ? AND e.occurred_at >= ?`,
      )
      .bind(type, since)
      .first('n');
    if (done >= expected * consumers) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  // Per event: from its commit (or its publish, for the sweep) to the last consumer's mark.
  const { results } = await db
    .prepare(
      `SELECT e.occurred_at, e.published_at, max(p.processed_at) AS done FROM outbox_events e
       JOIN processed_events p ON p.event_id = e.id WHERE e.type = ? AND e.occurred_at >= ? GROUP BY e.id`,
    )
    .bind(type, since)
    .all();
  return results;
}

function figures(rows, from) {
  const latencies = rows.map((r) => r.done - r[from]).sort((a, b) => a - b);
  const first = Math.min(...rows.map((r) => r[from]));
  const last = Math.max(...rows.map((r) => r.done));
  return {
    events: rows.length,
    perSecond: Math.round((rows.length * 1000) / (last - first)),
    p50: Math.round(percentile(latencies, 50)),
    p99: Math.round(percentile(latencies, 99)),
  };
}

/** `CONNECTIONS` clients, each sending reset requests back to back for DURATION seconds. */
async function resetRequests(base) {
  const until = Date.now() + DURATION * 1000;
  let sent = 0;
  let failed = 0;
  const client = async (c) => {
    while (Date.now() < until) {
      const n = sent++;
      // A client address and an email of its own per request: the auth rate limits are per address and account.
      const res = await fetch(`${base}/v1/auth/customers/password-reset/request`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'CF-Connecting-IP': `10.${c}.${(n >> 8) & 255}.${n & 255}`,
        },
        body: JSON.stringify({ email: `bench-${c}-${n}@example.com` }),
      });
      if (res.status !== 202) failed++;
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, c) => client(c)));
  return { sent, failed };
}

function orderCreated(i) {
  const total = 1000 + i;
  return JSON.stringify({
    id: `ord_bench_${i}`,
    customer_id: null,
    email: `buyer-${i}@example.com`,
    locale: 'en',
    region: 'eu',
    country: i % 2 ? 'DE' : 'FR',
    currency: 'EUR',
    subtotal: total,
    discount_total: 0,
    shipping_total: 0,
    tax_total: 0,
    total,
    items: [
      { variant_id: 'var_bench', sku: 'BENCH', title: 'Bench item', quantity: 1, unit_price: total, total },
    ],
  });
}

/** BURST order.created rows in the outbox, old enough for the sweep, which the cron handler then sends. */
async function burst(mf, db) {
  const since = (await db.prepare("SELECT unixepoch('subsec') * 1000 - 120000 AS t").first('t')) - 1;
  const insert = db.prepare(
    `INSERT INTO outbox_events (id, type, aggregate_type, aggregate_id, payload, actor_type, actor_id, occurred_at)
     VALUES (?, 'order.created', 'order', ?, ?, 'system', 'bench', unixepoch('subsec') * 1000 - 120000)`,
  );
  for (let i = 0; i < BURST; i += 50) {
    const rows = Array.from({ length: Math.min(50, BURST - i) }, (_, k) => i + k);
    await db.batch(rows.map((n) => insert.bind(`evt_bench_${n}`, `ord_bench_${n}`, orderCreated(n))));
  }
  // Each run sends at most SWEEP_LIMIT rows, so a burst takes a few runs.
  for (let run = 0; ; run++) {
    const result = await (await mf.getWorker()).scheduled({ cron: '* * * * *' });
    if (result.outcome !== 'ok') throw new Error(`the cron handler ended with ${result.outcome}`);
    const waiting = await db
      .prepare('SELECT COUNT(*) AS n FROM outbox_events WHERE published_at IS NULL')
      .first('n');
    if (waiting === 0) break;
    if (run > BURST / 100) throw new Error(`the sweep left ${waiting} events unpublished`);
  }
  return since;
}

async function main() {
  build();
  const mf = start();
  // Any free port, so the bench runs beside other servers on the machine.
  const base = (await mf.ready).origin;
  const db = await mf.getD1Database('DB');
  await applyMigrations(db);
  const loadBefore = load();

  const since = await db.prepare("SELECT unixepoch('subsec') * 1000 AS t").first('t');
  const requests = await resetRequests(base);
  const commit = figures(await drained(db, 'password_reset.requested', 1, since), 'occurred_at');
  const burstSince = await burst(mf, db);
  const sweep = figures(await drained(db, 'order.created', 2, burstSince), 'published_at');
  const loadAfter = load();
  await mf.dispose();

  console.log(
    [
      `Runtime: Miniflare ${MINIFLARE_VERSION} (workerd, real local D1 and Queues, consumers as in wrangler.toml).`,
      `Load average (1, 5, 15 min) before: ${loadBefore}; after: ${loadAfter}.`,
      '',
      '| scenario | events | events/s through the queue | latency p50 ms | latency p99 ms |',
      '|---|---|---|---|---|',
      `| reset requests, ${CONNECTIONS} clients for ${DURATION} s (${requests.sent} requests, ${requests.failed} not 202): commit to email consumer | ${commit.events} | ${commit.perSecond} | ${commit.p50} | ${commit.p99} |`,
      `| ${BURST} order.created swept from the outbox: publish to email + analytics consumers | ${sweep.events} | ${sweep.perSecond} | ${sweep.p50} | ${sweep.p99} |`,
    ].join('\n'),
  );
}

main().catch((error) => {
  console.error(`Benchmark failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
