// What every benchmark here needs: the Worker built as `wrangler deploy` builds it, run on Miniflare's Node API
// (workerd with the real local D1/KV/Cache bindings, no dev proxy in front) next to a bare hello-world Worker,
// the demo catalog seeded, and autocannon to load it. Only targets 127.0.0.1.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { demoCatalogStatements } from '../../scripts/seed.mjs';

export const HOST = '127.0.0.1';
const COMPATIBILITY_DATE = /compatibility_date = "([\d-]+)"/.exec(readFileSync('wrangler.toml', 'utf8'))[1];
export const MINIFLARE_VERSION = JSON.parse(
  readFileSync('node_modules/miniflare/package.json', 'utf8'),
).version;

/** `--name value` from the command line as a number, else the fallback. */
export function numberFlag(args, name, fallback) {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
}

export function buildWorker(outdir = 'bench/.build') {
  const result = spawnSync('npx', ['--no-install', 'wrangler', 'deploy', '--dry-run', '--outdir', outdir], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  });
  if (result.status !== 0) throw new Error('wrangler build failed');
}

/** One Worker on its own Miniflare instance; its JSON log lines are produced but not printed. */
export function startWorker(name, port, options, instance = {}) {
  return new Miniflare(
    convertV4MiniflareOptions({
      host: HOST,
      port,
      handleStructuredLogs: () => {},
      ...instance,
      workers: [{ name, modules: true, compatibilityDate: COMPATIBILITY_DATE, ...options }],
    }),
  );
}

/** The built edgecart Worker with production-like settings and placeholder secrets (nothing here signs). */
export function edgecartOptions(scriptPath = 'bench/.build/index.js') {
  return {
    scriptPath,
    d1Databases: { DB: 'bench-db' },
    kvNamespaces: ['KV'],
    bindings: {
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
    },
    ratelimits: {
      AUTH_IP_RATE_LIMITER: { namespace_id: '1001', simple: { limit: 30, period: 60 } },
      AUTH_ACCOUNT_RATE_LIMITER: { namespace_id: '1002', simple: { limit: 10, period: 60 } },
    },
  };
}

/** Applies every migration, then the demo catalog (200 products). */
export async function seedDemoCatalog(mf) {
  const db = await mf.getD1Database('DB');
  for (const file of readdirSync('migrations')
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    for (const statement of readFileSync(`migrations/${file}`, 'utf8').split('--> statement-breakpoint')) {
      if (statement.trim()) await db.prepare(statement).run();
    }
  }
  for (const statement of demoCatalogStatements()) await db.prepare(statement).run();
}

/** Loads `base` for `duration` seconds over `connections` connections; `paths(i)` names the i-th request. */
export function load(base, paths, { connections, duration, headers = {} }) {
  let i = 0;
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: base,
        connections,
        duration,
        headers,
        requests: [{ setupRequest: (req) => ({ ...req, path: paths(i++) }) }],
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}
