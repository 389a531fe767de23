// Secret API keys in the Worker's format (src/auth/secret-key.ts): `sk_<key id>_<secret>`, where the
// secret is 32 random bytes in base64url and only the lowercase hex SHA-256 of the secret is stored. Node strips
// the types of the TypeScript imports, so ids, tokens, hashing and the permission list are the Worker's own.
import { newSecretKey } from '../../src/auth/secret-key-format.ts';
import { isPermission, PERMISSIONS } from '../../src/lib/permissions.ts';
import { sqlText } from './sql.mjs';

export { PERMISSIONS };

export const generateSecretKey = newSecretKey;

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
  const unknown = names.filter((n) => !isPermission(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(
      `Unknown permission(s) ${unknown.join(', ') || '(none given)'}; use: ${PERMISSIONS.join(', ')}`,
    );
  }
  return [...new Set(names)];
}
