// Secret API keys in the Worker's format (src/modules/api-keys/secret-key.ts): `sk_<key id>_<secret>`, where the
// secret is 32 random bytes in base64url and only the lowercase hex SHA-256 of the secret is stored.
import { createHash, randomBytes } from 'node:crypto';
// Node strips the types of this one TypeScript import, so scripts and Worker share the permission list.
import { PERMISSIONS } from '../../src/lib/permissions.ts';
import { newId } from './ids.mjs';
import { sqlText } from './wrangler.mjs';

export { PERMISSIONS };

export function generateSecretKey() {
  const id = newId('key');
  const secret = randomBytes(32).toString('base64url');
  return { id, key: `sk_${id}_${secret}`, secretHash: createHash('sha256').update(secret).digest('hex') };
}

/**
 * The INSERT for a key holding `permissions` (every permission by default). A key row without a list holds
 * nothing, so the list is always written.
 */
export function insertSecretKeySql({ id, secretHash }, name, permissions = PERMISSIONS) {
  return `INSERT INTO api_keys (id, kind, name, secret_hash, permissions, created_by) VALUES (${sqlText(id)}, 'secret', ${sqlText(name)}, ${sqlText(secretHash)}, ${sqlText(JSON.stringify(permissions))}, 'system');`;
}

/** Gives an existing key every permission, e.g. the local development key after new permissions were added. */
export function grantAllPermissionsSql(id) {
  return `UPDATE api_keys SET permissions = ${sqlText(JSON.stringify(PERMISSIONS))} WHERE id = ${sqlText(id)};`;
}

/** Parses `--permissions=a,b` (default: every permission); an unknown name is an error. */
export function permissionsFromArgs(argv = process.argv) {
  const flag = argv.find((a) => a.startsWith('--permissions='));
  if (!flag) return PERMISSIONS;
  const names = flag.slice('--permissions='.length).split(',').filter(Boolean);
  const unknown = names.filter((n) => !PERMISSIONS.includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(
      `Unknown permission(s) ${unknown.join(', ') || '(none given)'}; use: ${PERMISSIONS.join(', ')}`,
    );
  }
  return [...new Set(names)];
}
