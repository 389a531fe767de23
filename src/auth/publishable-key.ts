/**
 * Publishable keys: `pk_<key id>`. Public by design (they ship in storefront code), so they prove nothing; they
 * name the storefront and its default region. `secret_hash` holds SHA-256 of the key only because the column is
 * shared with secret keys and must be unique.
 *
 * Storefront requests must stay cheap on an edge-cache hit, so lookups are remembered per isolate for
 * RESOLVE_TTL_MS: a revoked key stops working at once in the isolate that revoked it and within that bound
 * everywhere else. Unknown keys are remembered too, so repeating one costs one D1 query per TTL, but apart from
 * the keys that exist: a flood of made-up keys (each a query of its own) pushes out older made-up keys, never a
 * real one, so storefront requests with real keys keep answering from memory.
 */
import { and, eq } from 'drizzle-orm';
import { apiKeys } from '../db/schema';
import { sha256Hex } from '../lib/crypto';
import { createDb } from '../lib/db';
import type { PublishableKey } from '../lib/store-context';

const PUBLISHABLE_KEY_FORMAT = /^pk_(key_[0-9A-HJKMNP-TV-Z]{26})$/;
export const RESOLVE_TTL_MS = 60_000;
/** How many keys each of the two memories holds; past it, the one remembered longest ago is forgotten. */
export const MAX_REMEMBERED = 1_000;

type Remembered = { value: PublishableKey | null; until: number };
/** Keys that exist, and keys that do not (or no longer), remembered apart. */
const known = new Map<string, Remembered>();
const unknown = new Map<string, Remembered>();

function remember(presented: string, entry: Remembered): void {
  // Maps keep insertion order: deleting first puts the key last, and the first key is the oldest.
  known.delete(presented);
  unknown.delete(presented);
  const memory = entry.value ? known : unknown;
  if (memory.size >= MAX_REMEMBERED) memory.delete(memory.keys().next().value as string);
  memory.set(presented, entry);
}

export function publishableKeyOf(id: string): string {
  return `pk_${id}`;
}

export function publishableKeyHash(id: string): Promise<string> {
  return sha256Hex(publishableKeyOf(id));
}

/** Drops what this isolate remembers about a key (after create or revoke). */
export function forgetPublishableKey(id: string): void {
  known.delete(publishableKeyOf(id));
  unknown.delete(publishableKeyOf(id));
}

/**
 * The active publishable key `presented` names, or null. `onLookup` runs when D1 was asked (at most once per
 * key per isolate per TTL), which is when last use is recorded.
 */
export async function resolvePublishableKey(
  d1: D1Database,
  presented: string,
  onLookup: (id: string) => void,
): Promise<PublishableKey | null> {
  const match = PUBLISHABLE_KEY_FORMAT.exec(presented);
  if (!match?.[1]) return null;
  const now = Date.now();
  const hit = known.get(presented) ?? unknown.get(presented);
  if (hit && hit.until > now) return hit.value;

  const row = await createDb(d1)
    .select({ id: apiKeys.id, defaultRegion: apiKeys.defaultRegion, revokedAt: apiKeys.revokedAt })
    .from(apiKeys)
    .where(and(eq(apiKeys.id, match[1]), eq(apiKeys.kind, 'publishable')))
    .get();
  const value = row && !row.revokedAt ? { id: row.id, defaultRegion: row.defaultRegion } : null;
  remember(presented, { value, until: now + RESOLVE_TTL_MS });
  if (value) onLookup(value.id);
  return value;
}
