/**
 * Secret API keys: `sk_<key id>_<secret>`. The id locates the row; only SHA-256(secret) is stored, and it is
 * compared in constant time. Keys carry 256 bits of entropy, so a fast hash is the right one (a slow password
 * hash would only add latency to every admin call).
 */
import { and, eq, isNull } from 'drizzle-orm';
import { apiKeys } from '../../db/schema';
import { randomToken, sha256Hex, timingSafeEqualStrings } from '../../lib/crypto';
import { createDb } from '../../lib/db';
import { newId } from '../../lib/ids';

const SECRET_KEY_FORMAT = /^sk_(key_[0-9A-HJKMNP-TV-Z]{26})_([A-Za-z0-9_-]{43})$/;

export type IssuedKey = { id: string; key: string };

export async function issueSecretKey(d1: D1Database, name: string): Promise<IssuedKey> {
  const id = newId('key');
  const secret = randomToken(32);
  await createDb(d1)
    .insert(apiKeys)
    .values({ id, kind: 'secret', name, secretHash: await sha256Hex(secret) });
  return { id, key: `sk_${id}_${secret}` };
}

/** The id of the active key `presented` proves, or null. */
export async function verifySecretKey(d1: D1Database, presented: string): Promise<string | null> {
  const match = SECRET_KEY_FORMAT.exec(presented);
  if (!match) return null;
  const [, id, secret] = match as unknown as [string, string, string];
  const row = await createDb(d1)
    .select({ secretHash: apiKeys.secretHash })
    .from(apiKeys)
    .where(and(eq(apiKeys.id, id), eq(apiKeys.kind, 'secret'), isNull(apiKeys.revokedAt)))
    .get();
  const hash = await sha256Hex(secret);
  // Compare even when no row matched, so a missing key costs the same as a wrong one.
  return timingSafeEqualStrings(hash, row?.secretHash ?? '0'.repeat(64)) && row ? id : null;
}

/** Records use without delaying the response. */
export function touchSecretKey(d1: D1Database, id: string): Promise<unknown> {
  return createDb(d1).update(apiKeys).set({ lastUsedAt: new Date() }).where(eq(apiKeys.id, id)).run();
}
