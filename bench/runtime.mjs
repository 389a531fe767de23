// What every benchmark shares: the Worker built as `wrangler deploy` builds it, run on Miniflare's Node API (workerd
// with the real local bindings and no dev proxy in front), with the migrations applied to its D1.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';

export const HOST = '127.0.0.1';
export const COMPATIBILITY_DATE = /compatibility_date = "([\d-]+)"/.exec(
  readFileSync('wrangler.toml', 'utf8'),
)[1];
export const MINIFLARE_VERSION = JSON.parse(
  readFileSync('node_modules/miniflare/package.json', 'utf8'),
).version;

/** Bundles src/ into bench/.build/index.js. */
export function build() {
  const result = spawnSync(
    'npx',
    ['--no-install', 'wrangler', 'deploy', '--dry-run', '--outdir', 'bench/.build'],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    },
  );
  if (result.status !== 0) throw new Error('wrangler build failed');
}

/** One Worker on Miniflare at 127.0.0.1:`port`; its JSON log lines are kept but not printed. */
export function worker(name, port, options) {
  return new Miniflare(
    convertV4MiniflareOptions({
      host: HOST,
      port,
      handleStructuredLogs: () => {},
      workers: [{ name, modules: true, compatibilityDate: COMPATIBILITY_DATE, ...options }],
    }),
  );
}

export async function applyMigrations(db) {
  for (const file of readdirSync('migrations')
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    for (const statement of readFileSync(`migrations/${file}`, 'utf8').split('--> statement-breakpoint')) {
      if (statement.trim()) await db.prepare(statement).run();
    }
  }
}
