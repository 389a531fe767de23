// `npm run bench:events [-- --quick] [-- --duration 10] [-- --connections 10] [-- --burst 1000] [-- --products 300]`
// (npm run's Node: the secret-key helper imports the Worker's TypeScript, which the system Node 20 cannot load.)
// The event backbone on the local queue: the Worker built as `wrangler deploy` builds it, on Miniflare's Node API,
// with the queues, consumers and dead-letter queue configured exactly as in wrangler.toml. Three scenarios:
//  - commit to consumer: clients POST password-reset requests (each commits one event, published after the
//    response in waitUntil), the email consumer handles each one; latency is the consumer's processed mark minus
//    the event's occurred_at, both D1's clock.
//  - burst: order.created rows written straight to the outbox, sent by the outbox sweep (the cron handler), and
//    handled by the email consumer (a confirmation mail into the dev mailbox) and the analytics consumer.
//  - commit to webhook receipt: `CONNECTIONS` staff clients create products through the admin API; the webhooks
//    consumer fans each product.created out to one endpoint, whose delivery queue sends it, signed, to a receiver
//    on 127.0.0.1; latency is the receiver's verified arrival minus the event's occurred_at (D1's clock and Node's,
//    the same machine's). Fails unless every product's event arrives with a valid signature.
// Prints one Markdown table with the machine's load; only targets 127.0.0.1; stops itself.
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';
import {
  applyMigrations,
  benchDataEncryptionKeys,
  buildWorker,
  edgecartWorker,
  HOST,
  hasFlag,
  insertSecretKey,
  loadAverage,
  MINIFLARE_VERSION,
  numberFlag,
  percentile,
  startWorkers,
} from './lib/runtime.mjs';

const QUICK = hasFlag('quick');
const DURATION = QUICK ? 3 : numberFlag('duration', 10);
const CONNECTIONS = numberFlag('connections', 10);
const BURST = QUICK ? 200 : numberFlag('burst', 1000);
const PRODUCTS = QUICK ? 50 : numberFlag('products', 300);

function start() {
  return startWorkers(0, [
    edgecartWorker({
      database: 'bench-events-db',
      // As wrangler.toml declares them, so the bench runs what deploys: the event queue, its dead-letter queue and
      // the webhook delivery queue with their consumers, the Durable Objects the live consumer publishes to, the
      // rate limiters.
      declared: [
        'EVENTS',
        'EVENTS_DLQ',
        'WEBHOOK_DELIVERIES',
        'ANALYTICS',
        'LIVE_CHANNEL',
        'INVENTORY_ITEM',
        'AUTH_IP_RATE_LIMITER',
        'AUTH_ACCOUNT_RATE_LIMITER',
        'DISCOUNT_CART_RATE_LIMITER',
        'DISCOUNT_IP_RATE_LIMITER',
      ],
      vars: {
        // Outside production a webhook endpoint on 127.0.0.1 is allowed, as on a developer's machine.
        ENVIRONMENT: 'development',
        EMAIL_PROVIDER: 'dev-mailbox',
        // Webhook endpoint secrets are stored encrypted.
        DATA_ENCRYPTION_KEYS: benchDataEncryptionKeys(),
      },
    }),
  ]);
}

/** Polls `check` every 200 ms until it answers something truthy, which it returns; fails after 10 minutes. */
async function until(what, check) {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} within 10 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Waits until each of `consumers` (by name) has processed every event of `type`; then the figures, all from D1's
 * clock. By name, because other consumers mark the same events (live marks every order event).
 */
async function drained(db, type, consumers, since) {
  const named = `p.consumer IN (${consumers.map(() => '?').join(', ')})`;
  const expected = await db
    .prepare('SELECT COUNT(*) AS n FROM outbox_events WHERE type = ? AND occurred_at >= ?')
    .bind(type, since)
    .first('n');
  await until(`${type} events were not all consumed`, async () => {
    const done = await db
      .prepare(
        `SELECT COUNT(*) AS n FROM processed_events p JOIN outbox_events e ON e.id = p.event_id
         WHERE e.type = ? AND e.occurred_at >= ? AND ${named}`,
      )
      .bind(type, since, ...consumers)
      .first('n');
    return done >= expected * consumers.length;
  });
  // Per event: from its commit (or its publish, for the sweep) to the last consumer's mark.
  const { results } = await db
    .prepare(
      `SELECT e.occurred_at, e.published_at, max(p.processed_at) AS done FROM outbox_events e
       JOIN processed_events p ON p.event_id = e.id WHERE e.type = ? AND e.occurred_at >= ? AND ${named}
       GROUP BY e.id`,
    )
    .bind(type, since, ...consumers)
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

/**
 * A webhook receiver on 127.0.0.1 (any free port). It verifies each delivery's signature and keeps every arrival
 * per product, so a duplicate shows; a delivery that does not verify is kept as rejected and answered 401, so the
 * run fails on it instead of waiting out the retry schedule.
 */
function receiver() {
  const arrivals = new Map();
  const rejected = [];
  let webhook;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const at = Date.now();
      try {
        const event = webhook.verify(body, req.headers);
        const product = event.aggregate.id;
        const arrival = { occurred_at: Date.parse(event.occurred_at), done: at };
        arrivals.set(product, [...(arrivals.get(product) ?? []), arrival]);
        res.writeHead(204).end();
      } catch (error) {
        rejected.push(error.message);
        res.writeHead(401).end();
      }
    });
  });
  return {
    arrivals,
    rejected,
    listen: () =>
      new Promise((resolve) =>
        server.listen(0, HOST, () => resolve(`http://${HOST}:${server.address().port}/hooks`)),
      ),
    useSecret: (secret) => {
      webhook = new Webhook(secret);
    },
    // workerd keeps its connections to the receiver open; close would wait for them.
    close: () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      }),
  };
}

/** `CONNECTIONS` staff clients creating PRODUCTS draft products between them, each one commit; the ids created. */
async function createProducts(base, key) {
  const ids = [];
  let next = 0;
  const client = async () => {
    while (next < PRODUCTS) {
      const n = next++;
      const res = await fetch(`${base}/v1/admin/products`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ handle: `bench-${n}`, translations: { en: { title: `Bench product ${n}` } } }),
      });
      if (res.status !== 201)
        throw new Error(`creating a product answered ${res.status}: ${await res.text()}`);
      ids.push((await res.json()).id);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, client));
  return ids;
}

/**
 * One endpoint subscribed to product.created, then PRODUCTS products created through the admin API. Fails unless
 * each product's event reached the receiver with a valid signature, and nothing else did; then the figures, and
 * the deliveries as D1 recorded them once none was pending.
 */
async function webhookReceipts(base, db) {
  const hooks = receiver();
  const url = await hooks.listen();
  const key = await insertSecretKey(db, 'bench', ['webhooks:manage', 'catalog:write']);
  const res = await fetch(`${base}/v1/admin/webhooks`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ url, events: ['product.created'] }),
  });
  if (res.status !== 201)
    throw new Error(`registering the endpoint answered ${res.status}: ${await res.text()}`);
  const endpoint = await res.json();
  hooks.useSecret(endpoint.secret);
  try {
    const ids = await createProducts(base, key);
    await until('product.created webhooks did not all arrive', () => {
      if (hooks.rejected.length > 0) {
        throw new Error(`${hooks.rejected.length} webhooks failed verification: ${hooks.rejected[0]}`);
      }
      return ids.every((id) => hooks.arrivals.has(id));
    });
    // A delivery is finished once the receiver's answer is recorded; waiting for that lets late repeats arrive.
    const record = await until('webhook deliveries were still pending', async () => {
      const row = await db
        .prepare(
          `SELECT COUNT(*) AS deliveries, SUM(status = 'succeeded') AS succeeded, SUM(status = 'pending') AS pending,
           SUM(attempt_count) AS attempts FROM webhook_deliveries WHERE endpoint_id = ?`,
        )
        .bind(endpoint.id)
        .first();
      return row.pending === 0 && row;
    });
    const created = new Set(ids);
    const unexpected = [...hooks.arrivals.keys()].filter((id) => !created.has(id));
    if (hooks.rejected.length > 0 || unexpected.length > 0 || record.succeeded !== ids.length) {
      throw new Error(
        `webhooks: ${hooks.rejected.length} failed verification, ${unexpected.length} for no product created, ${record.succeeded} of ${ids.length} deliveries succeeded`,
      );
    }
    const arrivals = ids.map((id) => hooks.arrivals.get(id));
    // The rate the clients committed at, to tell a delivery backlog from clients that were slow to commit.
    const commits = arrivals.map((list) => list[0].occurred_at);
    return {
      ...figures(
        arrivals.map((list) => list[0]),
        'occurred_at',
      ),
      deliveries: record.deliveries,
      attempts: record.attempts,
      repeats: arrivals.reduce((sum, list) => sum + list.length - 1, 0),
      committedPerSecond: Math.round((ids.length * 1000) / (Math.max(...commits) - Math.min(...commits))),
    };
  } finally {
    await hooks.close();
  }
}

async function main() {
  buildWorker();
  const mf = start();
  // Any free port, so the bench runs beside other servers on the machine.
  const base = (await mf.ready).origin;
  const db = await mf.getD1Database('DB');
  await applyMigrations(db);
  const loadBefore = loadAverage();

  const since = await db.prepare("SELECT unixepoch('subsec') * 1000 AS t").first('t');
  const requests = await resetRequests(base);
  const commit = figures(await drained(db, 'password_reset.requested', ['email'], since), 'occurred_at');
  const burstSince = await burst(mf, db);
  const sweep = figures(
    await drained(db, 'order.created', ['email', 'analytics'], burstSince),
    'published_at',
  );
  const webhooks = await webhookReceipts(base, db);
  const loadAfter = loadAverage();
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
      `| ${PRODUCTS} products created by ${CONNECTIONS} staff clients: commit to webhook receipt, signature verified (committed at ${webhooks.committedPerSecond}/s; ${webhooks.deliveries} deliveries, ${webhooks.attempts} attempts, ${webhooks.repeats} repeats at the receiver) | ${webhooks.events} | ${webhooks.perSecond} | ${webhooks.p50} | ${webhooks.p99} |`,
    ].join('\n'),
  );
}

main().catch((error) => {
  console.error(`Benchmark failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
