// `npm run bench:flash-sale [-- --attempts 1000] [-- --connections 200] [-- --units 100]`
// A flash sale through the real checkout: ATTEMPTS guest carts, each holding the same SKU, check out at once
// from CONNECTIONS concurrent clients while only UNITS units are left. Builds the Worker as `wrangler deploy`
// would and runs it on Miniflare's Node API (workerd, real local D1, SQLite-backed InventoryItem objects, no
// dev proxy), with the manual payment provider. Prints one Markdown table (also bench/results/flash-sale.md)
// and fails unless exactly UNITS orders were placed and nothing was oversold. Only targets 127.0.0.1.
//
// The carts are filled while stock is plentiful; their holds are then released (as if they had lapsed) by a
// small driver Worker bound to the same objects, and on-hand is set to UNITS: every checkout must hold its
// unit again, and only UNITS can.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { generateSecretKey, insertSecretKeySql } from '../scripts/lib/secret-key.mjs';
import { demoCatalogStatements } from '../scripts/seed.mjs';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const ATTEMPTS = flag('attempts', 1000);
const CONNECTIONS = flag('connections', 200);
const UNITS = flag('units', 100);
const HOST = '127.0.0.1';
const COMPATIBILITY_DATE = /compatibility_date = "([\d-]+)"/.exec(readFileSync('wrangler.toml', 'utf8'))[1];
const ADDRESS = {
  first_name: 'Ada',
  last_name: 'Lovelace',
  line1: 'Unter den Linden 1',
  city: 'Berlin',
  postal_code: '10117',
  country_code: 'DE',
};

// Releases cart holds on one variant's object, as their expiry would (the carts' 15 minutes are not waited out).
const DRIVER = `export default {
  async fetch(request, env) {
    const { variantId, reservationIds } = await request.json();
    const stock = env.INVENTORY_ITEM.get(env.INVENTORY_ITEM.idFromName(variantId));
    for (const id of reservationIds) await stock.release({ variantId }, id);
    return Response.json(await stock.snapshot({ variantId }));
  },
};`;

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
          name: 'edgecart',
          modules: true,
          compatibilityDate: COMPATIBILITY_DATE,
          scriptPath: 'bench/.build/index.js',
          d1Databases: { DB: 'bench-flash-sale-db' },
          kvNamespaces: ['KV'],
          durableObjects: {
            INVENTORY_ITEM: { className: 'InventoryItem', useSQLite: true },
            LIVE_CHANNEL: { className: 'LiveChannel', useSQLite: true },
          },
          bindings: {
            ENVIRONMENT: 'production',
            CORS_ORIGINS: 'http://localhost',
            MAX_BODY_BYTES: '1048576',
            DEFAULT_REGION: 'eu',
            PUBLIC_URL: 'http://localhost',
            EMAIL_PROVIDER: 'http',
            EMAIL_API_URL: 'http://127.0.0.1:9/unused',
            EMAIL_FROM: 'bench@localhost',
            EMAIL_API_KEY: 'unused',
            JWT_SIGNING_KEYS: '[]',
            DATA_ENCRYPTION_KEYS: JSON.stringify([{ kid: 'bench', key: randomBytes(32).toString('base64') }]),
            CART_RESERVATION_TTL_SECONDS: '900',
            PAYMENT_PROVIDERS: 'manual',
            PAYMENT_TIMEOUT_MS: '10000',
          },
          ratelimits: {
            DISCOUNT_CART_RATE_LIMITER: { namespace_id: '1101', simple: { limit: 10, period: 60 } },
            DISCOUNT_IP_RATE_LIMITER: { namespace_id: '1102', simple: { limit: 30, period: 60 } },
          },
        },
        {
          name: 'driver',
          modules: true,
          compatibilityDate: COMPATIBILITY_DATE,
          script: DRIVER,
          durableObjects: {
            INVENTORY_ITEM: { className: 'InventoryItem', scriptName: 'edgecart', useSQLite: true },
          },
        },
      ],
    }),
  );
}

/** Schema, the demo catalog, and a secret key for the admin calls; returns the key. */
async function seed(mf) {
  const db = await mf.getD1Database('DB', 'edgecart');
  for (const file of readdirSync('migrations')
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    for (const statement of readFileSync(`migrations/${file}`, 'utf8').split('--> statement-breakpoint')) {
      if (statement.trim()) await db.prepare(statement).run();
    }
  }
  for (const statement of demoCatalogStatements()) await db.prepare(statement).run();
  const key = await generateSecretKey();
  await db.prepare(insertSecretKeySql(key, 'flash-sale bench')).run();
  return { db, key: key.key };
}

/** A table row of what a request cost in D1, from its Server-Timing (`d1_queries;desc=3, ...`). */
function costRow(label, res) {
  const timing = res.headers.get('Server-Timing') ?? '';
  const metric = (name) => new RegExp(`d1_${name};desc=(\\d+)`).exec(timing)?.[1] ?? '?';
  return `| ${label} | ${res.status} | ${metric('queries')} | ${metric('rows_read')} | ${metric('rows_written')} |`;
}

async function json(res, expected) {
  if (res.status !== expected) throw new Error(`${res.url}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Runs `work` over `items` with at most `limit` at a time. */
async function pool(items, limit, work) {
  const results = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

const uptime = () =>
  execFileSync('uptime', { encoding: 'utf8' })
    .trim()
    .replace(/^.*load average:/, 'load average:');

async function main() {
  build();
  const mf = start();
  const base = (await mf.ready).origin;
  const driver = await mf.getWorker('driver');
  const { db, key } = await seed(mf);
  const admin = (method, path, body) =>
    fetch(`${base}/v1/admin${path}`, {
      method,
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  const target = await db
    .prepare(
      `SELECT v.id AS variant_id, r.id AS region_id FROM variants v
       JOIN products p ON p.id = v.product_id AND p.status = 'active'
       JOIN prices pr ON pr.variant_id = v.id AND pr.currency_code = 'EUR'
       JOIN regions r ON r.code = 'eu' ORDER BY v.id LIMIT 1`,
    )
    .first();
  await json(
    await admin('POST', '/shipping-options', {
      region_id: target.region_id,
      name: 'Standard',
      price_type: 'flat',
      amount: 490,
    }),
    201,
  );
  await json(
    await admin('PUT', `/inventory/${target.variant_id}`, { on_hand: ATTEMPTS, reason: 'bench' }),
    200,
  );

  // One guest cart per attempt, each holding one unit, with an email and an address.
  const carts = await pool(
    Array.from({ length: ATTEMPTS }, (_, i) => i),
    20,
    async (i) => {
      const headers = { 'Content-Type': 'application/json' };
      const created = await json(
        await fetch(`${base}/v1/store/carts`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ region: 'eu', email: `shopper${i}@example.com` }),
        }),
        201,
      );
      const cartHeaders = { ...headers, 'X-Cart-Token': created.token };
      const id = created.cart.id;
      await json(
        await fetch(`${base}/v1/store/carts/${id}/line-items`, {
          method: 'POST',
          headers: cartHeaders,
          body: JSON.stringify({ variant_id: target.variant_id, quantity: 1 }),
        }),
        200,
      );
      await json(
        await fetch(`${base}/v1/store/carts/${id}`, {
          method: 'PATCH',
          headers: cartHeaders,
          body: JSON.stringify({ shipping_address: ADDRESS }),
        }),
        200,
      );
      return { id, token: created.token };
    },
  );
  for (let i = 0; i < carts.length; i += 100) {
    await driver.fetch('http://driver/', {
      method: 'POST',
      body: JSON.stringify({
        variantId: target.variant_id,
        reservationIds: carts.slice(i, i + 100).map((c) => `${c.id}:${target.variant_id}`),
      }),
    });
  }
  // What the carts show once their holds lapsed.
  await db
    .prepare('UPDATE cart_lines SET reservation_expires_at = ?')
    .bind(Date.now() - 1)
    .run();
  await json(
    await admin('PUT', `/inventory/${target.variant_id}`, { on_hand: UNITS, reason: 'flash sale' }),
    200,
  );

  const loadBefore = uptime();
  let next = 0;
  const result = await new Promise((resolve, reject) => {
    autocannon(
      {
        url: base,
        connections: CONNECTIONS,
        amount: ATTEMPTS,
        timeout: 120,
        requests: [
          {
            method: 'POST',
            setupRequest: (req) => {
              const cart = carts[next++ % carts.length];
              return {
                ...req,
                path: `/v1/store/carts/${cart.id}/checkout`,
                headers: {
                  'Content-Type': 'application/json',
                  'X-Cart-Token': cart.token,
                  'Idempotency-Key': crypto.randomUUID(),
                },
                body: '{}',
              };
            },
          },
        ],
      },
      (error, r) => (error ? reject(error) : resolve(r)),
    );
  });
  const loadAfter = uptime();

  const placed = await db
    .prepare(
      `SELECT count(*) AS orders, coalesce(sum(l.quantity), 0) AS units FROM order_lines l
       JOIN orders o ON o.id = l.order_id WHERE l.variant_id = ? AND o.status = 'paid'`,
    )
    .bind(target.variant_id)
    .first();
  const stock = await json(await admin('GET', `/inventory/${target.variant_id}`), 200);

  // What one checkout costs in D1 (its Server-Timing, before the response; the sale of its units runs after it):
  // refused with the SKU sold out, then placed once a unit is back.
  const buyer = carts[carts.length - 1];
  const checkout = () =>
    fetch(`${base}/v1/store/carts/${buyer.id}/checkout`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Cart-Token': buyer.token,
        'Idempotency-Key': crypto.randomUUID(),
      },
      body: '{}',
    });
  const refused = await checkout();
  await refused.arrayBuffer();
  await json(
    await admin('POST', `/inventory/${target.variant_id}/adjustments`, { delta: 1, reason: 'one back' }),
    200,
  );
  const accepted = await checkout();
  await accepted.arrayBuffer();
  await mf.dispose();

  const codes = result.statusCodeStats ?? {};
  const byStatus = Object.entries(codes)
    .map(([status, { count }]) => `${status}: ${count}`)
    .join(', ');
  const oversold = Math.max(0, placed.units - UNITS) + Math.max(0, -stock.on_hand);
  const answered = Object.values(codes).reduce((sum, { count }) => sum + count, 0);
  const table = [
    `Runtime: Miniflare ${JSON.parse(readFileSync('node_modules/miniflare/package.json', 'utf8')).version} (workerd, local D1, SQLite-backed InventoryItem objects, no dev proxy), manual payment provider, ${new Date().toISOString().slice(0, 10)}.`,
    `Load before: ${loadBefore}; after: ${loadAfter} (2 cores, shared).`,
    '',
    '| attempts | clients | units | orders placed | oversold | responses by status | socket errors + timeouts | checkouts/s (answered) | p50 ms | p99 ms | max ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    `| ${ATTEMPTS} | ${CONNECTIONS} | ${UNITS} | ${placed.orders} | ${oversold} | ${byStatus} | ${result.errors + result.timeouts} | ${Math.round(answered / (result.duration || 1))} | ${result.latency.p50} | ${result.latency.p99} | ${result.latency.max} |`,
    '',
    `Afterwards: on_hand ${stock.on_hand}, reserved ${stock.reserved}, available ${stock.available}.`,
    '',
    '| one checkout | status | D1 round trips | rows read | rows written |',
    '|---|---|---|---|---|',
    costRow('refused, SKU sold out', refused),
    costRow('placed (manual provider)', accepted),
  ].join('\n');
  console.log(table);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/flash-sale.md', `${table}\n`);
  if (placed.orders !== UNITS || oversold !== 0) process.exitCode = 1;
}

main().catch((error) => {
  console.error(`Benchmark failed: ${error.message}`);
  process.exit(1);
});
