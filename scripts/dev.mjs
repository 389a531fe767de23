// `npm run dev`: everything a fresh clone needs, then `wrangler dev` on http://localhost:8787, or on the port
// given as `npm run dev -- --port 8790` or `PORT=8790 npm run dev`.
// 1. .dev.vars with fresh local secrets (its generated PUBLIC_URL/CORS_ORIGINS follow the port)
// 2. local D1 migrations  3. the demo catalog if the database is empty  4. a local admin secret key
// 5. wrangler dev (local bindings only; no account, no network)  6. demo stock, if no variant was ever stocked.
import { spawn } from 'node:child_process';
import { SECRET_KEY_FORMAT } from '../src/auth/secret-key-format.ts';
import { sha256Hex } from '../src/lib/hash.ts';
import { DEMO_ON_HAND, stockDemoCatalog } from './lib/demo-stock.mjs';
import { appendDevVar, ensureDevVars } from './lib/dev-vars.mjs';
import { generateSecretKey, grantAllPermissionsSql, insertSecretKeySql } from './lib/secret-key.mjs';
import { sqlText } from './lib/sql.mjs';
import { executeSql, query, wrangler } from './lib/wrangler.mjs';

const LOCAL = '--local';
const DEFAULT_PORT = 8787;

/** `--port N` or `--port=N` from the arguments, else `PORT`, else 8787. */
function chosenPort(argv = process.argv.slice(2), env = process.env) {
  const at = argv.findIndex((arg) => arg === '--port' || arg.startsWith('--port='));
  const given = at === -1 ? env.PORT : argv[at].includes('=') ? argv[at].split('=')[1] : argv[at + 1];
  if (given === undefined || given === '') return DEFAULT_PORT;
  const port = Number(given);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`--port/PORT must be a port number (1-65535), not "${given}".`);
  }
  return port;
}

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
  const port = chosenPort();
  const origin = `http://localhost:${port}`;
  const vars = ensureDevVars(port);
  wrangler(['d1', 'migrations', 'apply', 'DB', LOCAL]);
  const seed = spawn(process.execPath, ['scripts/seed.mjs', LOCAL], { stdio: 'inherit' });
  seed.on('exit', async (code) => {
    if (code !== 0) process.exit(code ?? 1);
    const key = await ensureLocalSecretKey(vars);
    // Read before wrangler dev holds the database. Only a database where no variant was ever stocked gets demo
    // stock, so stock a developer set (or sold) is never overwritten.
    const neverStocked =
      query('SELECT count(*) AS n FROM stock_levels', LOCAL)[0]?.n === 0
        ? query('SELECT id FROM variants ORDER BY id', LOCAL).map((row) => row.id)
        : [];
    console.log(
      `\nAdmin secret key (also in .dev.vars):\n  ${key}\nTry:\n  curl -H 'Authorization: Bearer ${key}' ${origin}/v1/admin/products\n  curl '${origin}/v1/store/products?region=eu&locale=de&limit=3'\n  open ${origin}/docs\n`,
    );
    const dev = spawn(
      'npx',
      ['--no-install', 'wrangler', 'dev', '--local', '--port', String(port), '--ip', '127.0.0.1'],
      {
        stdio: 'inherit',
        // Miniflare would fetch a real `request.cf` from workers.cloudflare.com at every start and print a
        // `getaddrinfo ENOTFOUND` stack twice when offline; its fixed placeholder (country US) is what local
        // development uses anyway (pick regions with ?region=). Set CLOUDFLARE_CF_FETCH_ENABLED=true to fetch.
        env: { CLOUDFLARE_CF_FETCH_ENABLED: 'false', ...process.env, WRANGLER_SEND_METRICS: 'false' },
      },
    );
    for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => dev.kill(signal));
    if (neverStocked.length > 0) {
      stockDemoCatalog(`http://127.0.0.1:${port}`, key, neverStocked).then(
        (count) => console.log(`\nDemo stock: ${count} variants set to ${DEMO_ON_HAND} on hand.\n`),
        // The server keeps running: stock can still be set by hand (PUT /v1/admin/inventory/{variant_id}).
        (error) => console.error(`\nDemo stock was not set: ${error.message}\n`),
      );
    }
    dev.on('exit', (devCode) => process.exit(devCode ?? 0));
  });
}

try {
  main();
} catch (error) {
  console.error(`npm run dev failed: ${error.message}`);
  process.exit(1);
}
