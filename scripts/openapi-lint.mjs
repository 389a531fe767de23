// `npm run lint:openapi`: lints the OpenAPI document the app serves (GET /openapi.json) with Redocly, by the
// rules in redocly.yaml, and fails on any problem, warnings included (`redocly lint` itself passes warnings).
// The app is bundled with esbuild, as wrangler bundles it, and asked for the document in Node: building it
// needs no binding, so no Worker runtime starts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

async function servedDocument(dir) {
  const bundle = join(dir, 'app.mjs');
  await build({
    entryPoints: [join(root, 'src/app.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: bundle,
  });
  const { createApp } = await import(pathToFileURL(bundle).href);
  // The request's own log line is not part of the document.
  const log = console.log;
  console.log = () => {};
  try {
    const res = await createApp().request('/openapi.json', undefined, {});
    if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}: ${await res.text()}`);
    return await res.text();
  } finally {
    console.log = log;
  }
}

function lint(file) {
  const run = spawnSync('redocly', ['lint', file, '--config', join(root, 'redocly.yaml'), '--format=json'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.error) throw run.error;
  if (!run.stdout) throw new Error(`redocly lint exited with ${run.status} and no report`);
  return JSON.parse(run.stdout);
}

const dir = mkdtempSync(join(tmpdir(), 'edgecart-openapi-'));
try {
  const file = join(dir, 'openapi.json');
  writeFileSync(file, await servedDocument(dir));
  const { totals, problems } = lint(file);
  for (const { severity, ruleId, message, location } of problems) {
    console.log(
      `${severity.padEnd(7)} ${ruleId.padEnd(24)} ${location[0]?.pointer ?? ''}\n        ${message}`,
    );
  }
  console.log(`OpenAPI lint: ${totals.errors} errors, ${totals.warnings} warnings`);
  if (totals.errors + totals.warnings > 0) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
