// `npm run dev`: everything a fresh clone needs, then `wrangler dev` on http://localhost:8787.
// 1. .dev.vars with fresh local secrets  2. local D1 migrations  3. the demo catalog if the database is empty
// 4. a local admin secret key  5. wrangler dev (local bindings only; no account, no network).
import { spawn } from 'node:child_process';
import { SECRET_KEY_FORMAT } from '../src/auth/secret-key-format.ts';
import { sha256Hex } from '../src/lib/hash.ts';
import { appendDevVar, ensureDevVars } from './lib/dev-vars.mjs';
import { generateSecretKey, grantAllPermissionsSql, insertSecretKeySql } from './lib/secret-key.mjs';
import { sqlText } from './lib/sql.mjs';
import { executeSql, query, wrangler } from './lib/wrangler.mjs';

const LOCAL = '--local';

async function ensureLocalSecretKey(vars) {
  let key = vars.EDGECART_LOCAL_SECRET_KEY;
  if (!key) {
    const generated = await generateSecretKey();
    key = generated.key;
    appendDevVar(
      'EDGECART_LOCAL_SECRET_KEY',
      key,
      'The local admin secret key, for your own calls (the Worker does not read it).',
    );
  }
  const [, id, secret] = SECRET_KEY_FORMAT.exec(key) ?? [];
  if (!id)
    throw new Error(
      'EDGECART_LOCAL_SECRET_KEY in .dev.vars is not a secret key; delete the line to regenerate it.',
    );
  // The local database may have been reset since the key was made: make sure its row exists. It holds every
  // permission, including ones added since it was made.
  if (query(`SELECT id FROM api_keys WHERE id = ${sqlText(id)}`, LOCAL).length === 0) {
    const secretHash = await sha256Hex(secret);
    executeSql(insertSecretKeySql({ id, secretHash }, 'Local development'), LOCAL);
  } else {
    executeSql(grantAllPermissionsSql(id), LOCAL);
  }
  return key;
}

function main() {
  const vars = ensureDevVars();
  wrangler(['d1', 'migrations', 'apply', 'DB', LOCAL]);
  const seed = spawn(process.execPath, ['scripts/seed.mjs', LOCAL], { stdio: 'inherit' });
  seed.on('exit', async (code) => {
    if (code !== 0) process.exit(code ?? 1);
    const key = await ensureLocalSecretKey(vars);
    console.log(
      `\nAdmin secret key (also in .dev.vars):\n  ${key}\nTry:\n  curl -H 'Authorization: Bearer ${key}' http://localhost:8787/v1/admin/products\n  curl 'http://localhost:8787/v1/store/products?region=eu&locale=de&limit=3'\n`,
    );
    const dev = spawn(
      'npx',
      ['--no-install', 'wrangler', 'dev', '--local', '--port', '8787', '--ip', '127.0.0.1'],
      {
        stdio: 'inherit',
        env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
      },
    );
    for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => dev.kill(signal));
    dev.on('exit', (devCode) => process.exit(devCode ?? 0));
  });
}

try {
  main();
} catch (error) {
  console.error(`npm run dev failed: ${error.message}`);
  process.exit(1);
}
