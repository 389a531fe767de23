/**
 * Secret API keys: `sk_<key id>_<secret>`. The id locates the row; only SHA-256(secret) is stored, and it is
 * compared in constant time. Keys carry 256 bits of entropy, so a fast hash is the right one (a slow password
 * hash would only add latency to every admin call).
 *
 * A key holds exactly the permissions listed on its row. A row without a list holds nothing: scripts that
 * bootstrap a deployment pass the full list explicitly (`issueSecretKey(db, name, PERMISSIONS)`).
 */
import { and, eq, isNull } from 'drizzle-orm';
import { apiKeys } from '../db/schema';
import { sha256Hex, timingSafeEqualStrings } from '../lib/crypto';
import { createDb } from '../lib/db';
import { AppError } from '../lib/errors';
import { isPermission, type Permission } from '../lib/permissions';
import { REALMS } from './bearer';
import { newSecretKey, SECRET_KEY_FORMAT } from './secret-key-format';

export type IssuedKey = { id: string; key: string };

export async function issueSecretKey(
  d1: D1Database,
  name: string,
  permissions: readonly Permission[],
  createdBy = 'system',
): Promise<IssuedKey> {
  const { id, key, secretHash } = await newSecretKey();
  await createDb(d1)
    .insert(apiKeys)
    .values({ id, kind: 'secret', name, secretHash, permissions: [...permissions], createdBy });
  return { id, key };
}

/** The 401 for a secret key that proves nothing (unknown, wrong or revoked), with the admin surface's challenge. */
export const invalidApiKey = () =>
  new AppError(401, 'invalid_credentials', 'The API key is not valid.', {
    headers: { 'WWW-Authenticate': `${REALMS.admin}, error="invalid_token"` },
  });

export type VerifiedSecretKey = { id: string; permissions: ReadonlySet<Permission> };

/** The active key `presented` proves, with its permissions, or null. */
export async function verifySecretKey(d1: D1Database, presented: string): Promise<VerifiedSecretKey | null> {
  const match = SECRET_KEY_FORMAT.exec(presented);
  if (!match) return null;
  const [, id, secret] = match as unknown as [string, string, string];
  const row = await createDb(d1)
    .select({ secretHash: apiKeys.secretHash, permissions: apiKeys.permissions })
    .from(apiKeys)
    .where(and(eq(apiKeys.id, id), eq(apiKeys.kind, 'secret'), isNull(apiKeys.revokedAt)))
    .get();
  const hash = await sha256Hex(secret);
  // Compare even when no row matched, so a missing key costs the same as a wrong one.
  const valid = timingSafeEqualStrings(hash, row?.secretHash ?? '0'.repeat(64));
  if (!valid || !row) return null;
  // Names no longer in PERMISSIONS (a renamed permission) grant nothing.
  return { id, permissions: new Set((row.permissions ?? []).filter(isPermission)) };
}

/** Records use; callers run it in `waitUntil` so it never delays a response. */
export function touchApiKey(d1: D1Database, id: string): Promise<unknown> {
  return createDb(d1).update(apiKeys).set({ lastUsedAt: new Date() }).where(eq(apiKeys.id, id)).run();
}
