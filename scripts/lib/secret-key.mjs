// Secret API keys in the Worker's format (src/modules/api-keys/secret-key.ts): `sk_<key id>_<secret>`, where the
// secret is 32 random bytes in base64url and only the lowercase hex SHA-256 of the secret is stored.
import { createHash, randomBytes } from 'node:crypto';
import { newId } from './ids.mjs';
import { sqlText } from './wrangler.mjs';

export function generateSecretKey() {
  const id = newId('key');
  const secret = randomBytes(32).toString('base64url');
  return { id, key: `sk_${id}_${secret}`, secretHash: createHash('sha256').update(secret).digest('hex') };
}

/** The INSERT for a key holding the given permissions (null: every permission). */
export function insertSecretKeySql({ id, secretHash }, name, permissions = null) {
  return `INSERT INTO api_keys (id, kind, name, secret_hash, permissions, created_by) VALUES (${sqlText(id)}, 'secret', ${sqlText(name)}, ${sqlText(secretHash)}, ${sqlText(permissions && JSON.stringify(permissions))}, 'system');`;
}
