// `node bench/webhooks.mjs [--pings 30] [--burst 100]`
// Webhook delivery latency: from the admin request that queues a delivery (a test ping) to the moment a receiver
// on 127.0.0.1 has it, signature verified. Runs the Worker as `wrangler deploy` builds it on Miniflare's Node API
// with the real local D1 and the delivery queue configured as in wrangler.toml. Sequential pings show the
// latency of one delivery; a burst of concurrent pings shows it under load. Prints one Markdown table.
// (Commit-to-receipt through the event queue is measured by bench/events.mjs, which owns the event backbone.)
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { Webhook } from 'standardwebhooks';
import { generateSecretKey, insertSecretKeySql } from '../scripts/lib/secret-key.mjs';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const PINGS = flag('pings', 30);
const BURST = flag('burst', 100);
const HOST = '127.0.0.1';
const APP_PORT = 8797;
const RECEIVER_PORT = 8799;
const config = readFileSync('wrangler.toml', 'utf8');
const setting = (name) => new RegExp(`${name} = "?([\\w.-]+)"?`).exec(config)[1];

function build() {
  const result = spawnSync(
    'npx',
    ['--no-install', 'wrangler', 'deploy', '--dry-run', '--outdir', 'bench/.build'],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } },
  );
  if (result.status !== 0) throw new Error('wrangler build failed');
}

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
  build();
  const queue = setting('queue');
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: HOST,
      port: APP_PORT,
      handleStructuredLogs: () => {},
      workers: [
        {
          name: 'edgecart',
          modules: true,
          compatibilityDate: setting('compatibility_date'),
          scriptPath: 'bench/.build/index.js',
          d1Databases: { DB: 'bench-webhooks-db' },
          kvNamespaces: ['KV'],
          queueProducers: { WEBHOOK_DELIVERIES: { queueName: queue } },
          queueConsumers: {
            [queue]: {
              maxBatchSize: Number(setting('max_batch_size')),
              maxBatchTimeout: Number(setting('max_batch_timeout')),
              maxRetries: Number(setting('max_retries')),
            },
          },
          bindings: {
            // Outside production a receiver on 127.0.0.1 is allowed, as for a developer's machine.
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
            DATA_ENCRYPTION_KEYS: JSON.stringify([{ kid: 'bench', key: randomBytes(32).toString('base64') }]),
          },
        },
      ],
    }),
  );
  const hooks = receiver();
  await Promise.all([mf.ready, hooks.listen()]);
  const db = await mf.getD1Database('DB');
  for (const file of readdirSync('migrations')
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    for (const statement of readFileSync(`migrations/${file}`, 'utf8').split('--> statement-breakpoint')) {
      if (statement.trim()) await db.prepare(statement).run();
    }
  }
  const key = await generateSecretKey();
  await db.prepare(insertSecretKeySql(key, 'bench', ['webhooks:manage'])).run();
  const base = `http://${HOST}:${APP_PORT}/v1/admin/webhooks`;
  const headers = { Authorization: `Bearer ${key.key}`, 'Content-Type': 'application/json' };
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

  const percentile = (list, p) => {
    const sorted = [...list].sort((a, b) => a - b);
    return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
  };
  const row = (name, list) =>
    `| ${name} | ${list.length} | ${percentile(list, 50)} | ${percentile(list, 99)} | ${Math.round(Math.max(...list))} |`;
  console.log(
    [
      `Runtime: Miniflare (workerd, local D1 and queue; batch size ${setting('max_batch_size')}, batch timeout ${setting('max_batch_timeout')} s). Ping request sent -> receiver has it, verified.`,
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
