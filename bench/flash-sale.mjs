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
import { mkdirSync, writeFileSync } from 'node:fs';
import {
  applyMigrations,
  benchDataEncryptionKeys,
  buildWorker,
  edgecartWorker,
  insertSecretKey,
  load,
  loadAverage,
  MINIFLARE_VERSION,
  numberFlag,
  seedDemoCatalog,
  startWorkers,
} from './lib/runtime.mjs';

const ATTEMPTS = numberFlag('attempts', 1000);
const CONNECTIONS = numberFlag('connections', 200);
const UNITS = numberFlag('units', 100);
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

function start() {
  return startWorkers(0, [
    edgecartWorker({
      database: 'bench-flash-sale-db',
      declared: ['INVENTORY_ITEM', 'LIVE_CHANNEL', 'DISCOUNT_CART_RATE_LIMITER', 'DISCOUNT_IP_RATE_LIMITER'],
      vars: {
        DEFAULT_REGION: 'eu',
        DATA_ENCRYPTION_KEYS: benchDataEncryptionKeys(),
        CART_RESERVATION_TTL_SECONDS: '900',
        PAYMENT_PROVIDERS: 'manual',
        PAYMENT_TIMEOUT_MS: '10000',
      },
    }),
    {
      name: 'driver',
      script: DRIVER,
      durableObjects: {
        INVENTORY_ITEM: { className: 'InventoryItem', scriptName: 'edgecart', useSQLite: true },
      },
    },
  ]);
}

/** Schema, the demo catalog, and a secret key for the admin calls; returns the key. */
async function seed(mf) {
  const db = await mf.getD1Database('DB', 'edgecart');
  await applyMigrations(db);
  await seedDemoCatalog(db);
  return { db, key: await insertSecretKey(db, 'flash-sale bench') };
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

async function main() {
  buildWorker();
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

  const loadBefore = loadAverage();
  const result = await load(
    base,
    (i) => {
      const cart = carts[i % carts.length];
      return {
        method: 'POST',
        path: `/v1/store/carts/${cart.id}/checkout`,
        headers: {
          'Content-Type': 'application/json',
          'X-Cart-Token': cart.token,
          'Idempotency-Key': crypto.randomUUID(),
        },
        body: '{}',
      };
    },
    { connections: CONNECTIONS, amount: ATTEMPTS, timeout: 120 },
  );
  const loadAfter = loadAverage();

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
    `Runtime: Miniflare ${MINIFLARE_VERSION} (workerd, local D1, SQLite-backed InventoryItem objects, no dev proxy), manual payment provider, ${new Date().toISOString().slice(0, 10)}.`,
    `Load before: load average: ${loadBefore}; after: load average: ${loadAfter} (2 cores, shared).`,
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
