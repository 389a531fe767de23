// Runs the project's own wrangler (with the bundled Node 24 that npm scripts put first on PATH), never prompting.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' };

export function wrangler(args, { capture = false } = {}) {
  const result = spawnSync('npx', ['--no-install', 'wrangler', ...args], {
    env,
    stdio: capture ? ['ignore', 'pipe', 'inherit'] : 'inherit',
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`wrangler ${args.join(' ')} failed (exit ${result.status})`);
  return result.stdout ?? '';
}

/** `--local` or `--remote`, from the script's own arguments (local unless --remote is given). */
export function target(argv = process.argv) {
  return argv.includes('--remote') ? '--remote' : '--local';
}

/** Runs a SELECT against D1 and returns its rows. */
export function query(sql, where) {
  const out = wrangler(['d1', 'execute', 'DB', where, '--json', '--command', sql], { capture: true });
  return JSON.parse(out)[0]?.results ?? [];
}

/** Executes a file of SQL statements against D1. */
export function executeSql(sql, where) {
  const dir = mkdtempSync(join(tmpdir(), 'edgecart-'));
  const file = join(dir, 'statements.sql');
  writeFileSync(file, sql);
  wrangler(['d1', 'execute', 'DB', where, '--file', file], { capture: true });
}
