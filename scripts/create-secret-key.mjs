// Creates an admin secret key and prints it once: `node scripts/create-secret-key.mjs [--local|--remote] [name]`.
// Only the SHA-256 of its secret is stored; a lost key cannot be recovered, only revoked and replaced.
import { generateSecretKey, insertSecretKeySql } from './lib/secret-key.mjs';
import { executeSql, target } from './lib/wrangler.mjs';

const where = target();
const name = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 'Created by script';
try {
  const generated = generateSecretKey();
  executeSql(insertSecretKeySql(generated, name), where);
  console.log(
    `Secret key "${name}" (${where === '--remote' ? 'deployed' : 'local'} database). Store it now; it is not shown again:\n${generated.key}`,
  );
} catch (error) {
  console.error(`Could not create the key: ${error.message}`);
  process.exit(1);
}
