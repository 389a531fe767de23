// Creates an admin secret key and prints it once:
//   node scripts/create-secret-key.mjs [--local|--remote] [--permissions=catalog:read,catalog:write] [name]
// Without --permissions the key holds every permission. Only the SHA-256 of its secret is stored; a lost key
// cannot be recovered, only revoked and replaced.
import { generateSecretKey, insertSecretKeySql, permissionsFromArgs } from './lib/secret-key.mjs';
import { executeSql, target } from './lib/wrangler.mjs';

const where = target();
const name = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 'Created by script';
try {
  const permissions = permissionsFromArgs();
  const generated = await generateSecretKey();
  executeSql(insertSecretKeySql(generated, name, permissions), where);
  console.log(
    `Secret key "${name}" (${where === '--remote' ? 'deployed' : 'local'} database) holding ${permissions.join(', ')}. Store it now; it is not shown again:\n${generated.key}`,
  );
} catch (error) {
  console.error(`Could not create the key: ${error.message}`);
  process.exit(1);
}
