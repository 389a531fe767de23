// What every benchmark here shares: the Worker built as `wrangler deploy` builds it, run on Miniflare's Node API
// (workerd with the real local bindings, no dev proxy in front) with the bindings wrangler.toml declares, the
// schema and demo catalog seeded, autocannon to load it, and the readings the tables print. Only targets 127.0.0.1.
import { execSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { buildDemoCatalog } from '../../scripts/lib/demo-catalog.mjs';
import { generateSecretKey, insertSecretKeySql } from '../../scripts/lib/secret-key.mjs';
import { READ_MODEL_INDEXES_QUERY, seedStatements } from '../../scripts/seed.mjs';

export const HOST = '127.0.0.1';
export const MINIFLARE_VERSION = JSON.parse(
  readFileSync('node_modules/miniflare/package.json', 'utf8'),
).version;
const BUILD_DIR = 'bench/.build';
const STATEMENTS_PER_BATCH = 50;
// wrangler.toml as wrangler itself reads it, so the bench runs what deploys.
const DECLARED = unstable_getMiniflareWorkerOptions('wrangler.toml').workerOptions;

const args = process.argv.slice(2);

export const hasFlag = (name) => args.includes(`--${name}`);

/** `--name value` from the command line, else the fallback. */
export function flag(name, fallback) {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
}

export const numberFlag = (name, fallback) => Number(flag(name, fallback));

/** Bundles src/ into bench/.build/index.js. */
export function buildWorker() {
  const result = spawnSync(
    'npx',
    ['--no-install', 'wrangler', 'deploy', '--dry-run', '--outdir', BUILD_DIR],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    },
  );
  if (result.status !== 0) throw new Error('wrangler build failed');
}

/**
 * Workers on one Miniflare instance at 127.0.0.1:`port` (0: a free port of its choosing, as other benchmarks may
 * hold fixed ones); the first answers there. Their JSON log lines are kept but not printed: the tables are the output.
 */
export function startWorkers(port, workers, instance = {}) {
  return new Miniflare(
    convertV4MiniflareOptions({
      host: HOST,
      port,
      handleStructuredLogs: () => {},
      ...instance,
      // Every Worker runs on edgecart's compatibility date and flags, as deployed.
      workers: workers.map((w) => ({
        modules: true,
        compatibilityDate: DECLARED.compatibilityDate,
        compatibilityFlags: DECLARED.compatibilityFlags,
        ...w,
      })),
    }),
  );
}

/** Settings of a local run with placeholder secrets: nothing signs tokens or sends mail. */
const BENCH_VARS = {
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
};

/** A fresh data encryption key, for benches that store secrets encrypted (webhook endpoints, payment data). */
export const benchDataEncryptionKeys = () =>
  JSON.stringify([{ kid: 'bench', key: randomBytes(32).toString('base64') }]);

const pick = (entries, names) =>
  Object.fromEntries(Object.entries(entries).filter(([n]) => names.includes(n)));

/**
 * The built edgecart Worker with its own D1 database and a KV namespace, the bench settings overridden by `vars`,
 * and the bindings named in `declared` (Durable Objects, rate limiters, analytics datasets, queue producers with
 * their queues' consumers) exactly as wrangler.toml declares them. A bench names only what its scenario reaches,
 * so no other consumer or object runs beside what it measures.
 */
export function edgecartWorker({ database, declared, vars = {}, scriptPath = `${BUILD_DIR}/index.js` }) {
  const known = ['durableObjects', 'ratelimits', 'analyticsEngineDatasets', 'queueProducers'].flatMap(
    (kind) => Object.keys(DECLARED[kind]),
  );
  const unknown = declared.filter((name) => !known.includes(name));
  if (unknown.length > 0) throw new Error(`wrangler.toml declares no binding ${unknown.join(', ')}`);
  const queueProducers = pick(DECLARED.queueProducers, declared);
  const queues = Object.values(queueProducers).map((p) => p.queueName);
  return {
    name: 'edgecart',
    scriptPath,
    d1Databases: { DB: database },
    kvNamespaces: ['KV'],
    durableObjects: pick(DECLARED.durableObjects, declared),
    ratelimits: pick(DECLARED.ratelimits, declared),
    analyticsEngineDatasets: pick(DECLARED.analyticsEngineDatasets, declared),
    queueProducers,
    queueConsumers: pick(DECLARED.queueConsumers, queues),
    bindings: { ...BENCH_VARS, ...vars },
  };
}

async function inBatches(db, statements) {
  for (let i = 0; i < statements.length; i += STATEMENTS_PER_BATCH) {
    await db.batch(statements.slice(i, i + STATEMENTS_PER_BATCH).map((s) => db.prepare(s)));
  }
}

/**
 * Building a large catalog's statements blocks the event loop for seconds (20 s at 100,000 products), after which
 * the first request fails with "other side closed" on the keep-alive connection workerd dropped meanwhile (the
 * next one opens a new one). A read that may fail once takes that hit instead of a batch.
 */
async function reconnect(db) {
  try {
    await db.prepare('SELECT 1').first();
  } catch {
    await db.prepare('SELECT 1').first();
  }
}

export async function applyMigrations(db) {
  for (const file of readdirSync('migrations')
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    const statements = readFileSync(`migrations/${file}`, 'utf8').split('--> statement-breakpoint');
    await inBatches(
      db,
      statements.filter((s) => s.trim()),
    );
  }
}

/**
 * Seeds the demo catalog of `products` products (scripts/seed.mjs), its read model loaded without the secondary
 * indexes, which are created at the end (faster than filling them row by row; the bench database is throwaway,
 * so a failure halfway needs no atomic batch). Returns the handle of the first active product, for detail pages.
 */
export async function seedDemoCatalog(db, products = 200) {
  const indexes = (await db.prepare(READ_MODEL_INDEXES_QUERY).all()).results;
  const statements = seedStatements(buildDemoCatalog(products), { readModelIndexes: indexes });
  await reconnect(db);
  await inBatches(db, statements);
  const first = await db
    .prepare("SELECT handle FROM products WHERE status = 'active' ORDER BY handle LIMIT 1")
    .first();
  return first.handle;
}

/** Stores a new secret API key named `name` holding `permissions` (default: all); returns the key to send. */
export async function insertSecretKey(db, name, permissions) {
  const key = await generateSecretKey();
  await db.prepare(insertSecretKeySql(key, name, permissions)).run();
  return key.key;
}

/**
 * Loads `base` with autocannon for `duration` seconds, or for a fixed `amount` of requests (every one answered,
 * however long it queued). `request` is the path of every request, or a function giving the i-th request's path
 * or its fields ({ path, method, headers, body }).
 */
export function load(base, request, { connections, duration, amount, timeout, headers = {} }) {
  let i = 0;
  const fixed = typeof request === 'string';
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: fixed ? `${base}${request}` : base,
        connections,
        headers,
        ...(amount ? { amount } : { duration }),
        ...(timeout ? { timeout } : {}),
        ...(fixed
          ? {}
          : {
              requests: [
                {
                  setupRequest: (req) => {
                    const next = request(i++);
                    return { ...req, ...(typeof next === 'string' ? { path: next } : next) };
                  },
                },
              ],
            }),
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

/** The machine's load average over 1, 5 and 15 minutes (the machine is shared; the tables say how busy it was). */
export const loadAverage = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');

/** The nearest-rank `p`th percentile of ascending `sorted`. */
export const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

const TICKS_PER_SECOND = Number(execSync('getconf CLK_TCK').toString());

/** The workerd process Miniflare started for `port` (its entry socket is on the command line). */
export function workerdPid(port) {
  const line = execSync(`ps -o pid=,args= --ppid ${process.pid}`)
    .toString()
    .split('\n')
    .find((l) => l.includes(`--socket-addr=entry=${HOST}:${port}`));
  if (!line) throw new Error(`no workerd child process listening on port ${port}`);
  return Number(line.trim().split(/\s+/)[0]);
}

/** CPU seconds (user + system, all threads) a process has used so far. */
export function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}
