// `npm run lint:openapi`: lints the OpenAPI document the app serves (GET /openapi.json) with Redocly, by the
// rules in redocly.yaml. The app is bundled with esbuild, as wrangler bundles it, and asked for the document in
// Node: building it needs no binding, so no Worker runtime starts. Extra arguments go to `redocly lint`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

async function servedDocument(dir) {
  const bundle = join(dir, 'app.mjs');
  await build({
    entryPoints: ['src/app.ts'],
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
    // Indented, so that Redocly's line numbers point somewhere readable.
    return JSON.stringify(await res.json(), null, 2);
  } finally {
    console.log = log;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'edgecart-openapi-'));
try {
  const file = join(dir, 'openapi.json');
  writeFileSync(file, await servedDocument(dir));
  const lint = spawnSync('redocly', ['lint', file, '--config', 'redocly.yaml', ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  if (lint.error) throw lint.error;
  process.exitCode = lint.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
