// `npm run bench:webhooks [-- --pings 30] [-- --burst 100]` (npm run's Node: the shared runtime imports the
// Worker's TypeScript, which the system Node 20 cannot load.)
// Webhook delivery latency: from the admin request that queues a delivery (a test ping) to the moment a receiver
// on 127.0.0.1 has it, signature verified. Runs the Worker as `wrangler deploy` builds it on Miniflare's Node API
// with the real local D1 and the delivery queue configured as in wrangler.toml. Sequential pings show the
// latency of one delivery; a burst of concurrent pings shows it under load. Prints one Markdown table.
// (Commit-to-receipt through the event queue is measured by bench/events.mjs, which owns the event backbone.)
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';
import {
  applyMigrations,
  benchDataEncryptionKeys,
  buildWorker,
  edgecartWorker,
  HOST,
  insertSecretKey,
  numberFlag,
  percentile,
  startWorkers,
} from './lib/runtime.mjs';

const PINGS = numberFlag('pings', 30);
const BURST = numberFlag('burst', 100);
const APP_PORT = 8797;
const RECEIVER_PORT = 8799;

/** Receives webhooks: verifies each and records its arrival time by webhook-id. */
function receiver() {
  const arrived = new Map();
  const waiting = new Map();
  let webhook;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const at = performance.now();
      webhook.verify(body, req.headers);
      const id = req.headers['webhook-id'];
      arrived.set(id, at);
      waiting.get(id)?.(at);
      res.writeHead(204).end();
    });
  });
  return {
    listen: () => new Promise((resolve) => server.listen(RECEIVER_PORT, HOST, resolve)),
    close: () => new Promise((resolve) => server.close(resolve)),
    useSecret: (secret) => {
      webhook = new Webhook(secret);
    },
    // A delivery can arrive before the ping's response has been read.
    arrival: (id) =>
      arrived.has(id) ? Promise.resolve(arrived.get(id)) : new Promise((resolve) => waiting.set(id, resolve)),
  };
}

async function main() {
  buildWorker();
  const edgecart = edgecartWorker({
    database: 'bench-webhooks-db',
    declared: ['WEBHOOK_DELIVERIES'],
    vars: {
      // Outside production a receiver on 127.0.0.1 is allowed, as for a developer's machine.
      ENVIRONMENT: 'development',
      EMAIL_PROVIDER: 'dev-mailbox',
      DATA_ENCRYPTION_KEYS: benchDataEncryptionKeys(),
    },
  });
  const consumer = Object.values(edgecart.queueConsumers)[0];
  const mf = startWorkers(APP_PORT, [edgecart]);
  const hooks = receiver();
  await Promise.all([mf.ready, hooks.listen()]);
  const db = await mf.getD1Database('DB');
  await applyMigrations(db);
  const key = await insertSecretKey(db, 'bench', ['webhooks:manage']);
  const base = `http://${HOST}:${APP_PORT}/v1/admin/webhooks`;
  const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
  const endpoint = await fetch(base, {
    method: 'POST',
    headers,
    body: JSON.stringify({ url: `http://${HOST}:${RECEIVER_PORT}/hooks`, events: ['*'] }),
  }).then((r) => r.json());
  hooks.useSecret(endpoint.secret);

  /** Milliseconds from sending the ping request to its verified receipt. */
  async function ping() {
    const started = performance.now();
    const res = await fetch(`${base}/${endpoint.id}/test`, { method: 'POST', headers });
    const { event_id } = await res.json();
    return (await hooks.arrival(event_id)) - started;
  }

  const sequential = [];
  for (let i = 0; i < PINGS; i++) sequential.push(await ping());
  const burst = await Promise.all(Array.from({ length: BURST }, ping));
  await Promise.all([mf.dispose(), hooks.close()]);

  const row = (name, list) => {
    const sorted = [...list].sort((a, b) => a - b);
    return `| ${name} | ${list.length} | ${Math.round(percentile(sorted, 50))} | ${Math.round(percentile(sorted, 99))} | ${Math.round(sorted.at(-1))} |`;
  };
  console.log(
    [
      `Runtime: Miniflare (workerd, local D1 and queue; batch size ${consumer.maxBatchSize}, batch timeout ${consumer.maxBatchTimeout} s). Ping request sent -> receiver has it, verified.`,
      '',
      '| scenario | deliveries | p50 ms | p99 ms | max ms |',
      '|---|---|---|---|---|',
      row('one ping at a time', sequential),
      row(`${BURST} pings at once`, burst),
    ].join('\n'),
  );
}

main().catch((error) => {
  console.error(`Benchmark failed: ${error.message}`);
  process.exit(1);
});
