/**
 * The catalog version salts every edge-cache key, so a write to the catalog makes all cached responses
 * unreachable at once, in every region, without purging anything.
 */
import { KV_KEYS } from './kv-keys';

export async function readCatalogVersion(kv: KVNamespace): Promise<string> {
  return (await kv.get(KV_KEYS.catalogVersion)) ?? '0';
}

/**
 * Moves the version forward. A timestamp rather than a counter: two concurrent bumps both produce a version
 * no cache entry has ever been stored under, which is all that matters; a read-increment-write could lose one.
 */
export async function bumpCatalogVersion(kv: KVNamespace): Promise<string> {
  const next = `${Date.now()}${crypto.getRandomValues(new Uint16Array(1))[0]}`;
  await kv.put(KV_KEYS.catalogVersion, next);
  return next;
}
