/**
 * The catalog version salts every edge-cache key, so a write to the catalog makes all cached responses
 * unreachable at once, in every region, without purging anything.
 *
 * Reading it costs a KV call, which would dominate a cache hit; each isolate therefore remembers it for
 * VERSION_MEMO_MS. KV itself only guarantees global visibility within about a minute, so this memo adds a
 * second to a bound that already exists; and the isolate that makes a write sees its new version at once.
 */
import type { FollowUp } from './commit';
import { KV_KEYS } from './kv-keys';

export const VERSION_MEMO_MS = 1_000;

let memo: { value: string; readAt: number } | undefined;

export async function readCatalogVersion(kv: KVNamespace, now = Date.now()): Promise<string> {
  if (memo && now - memo.readAt < VERSION_MEMO_MS) return memo.value;
  const value = (await kv.get(KV_KEYS.catalogVersion)) ?? '0';
  memo = { value, readAt: now };
  return value;
}

/**
 * Moves the version forward. A timestamp plus randomness rather than a counter: two concurrent bumps both
 * produce a version no cache entry has ever been stored under, which is all that matters; a read-increment-write
 * could lose one.
 */
export async function bumpCatalogVersion(kv: KVNamespace): Promise<string> {
  const bumpedAt = Date.now();
  const next = `${bumpedAt}${crypto.getRandomValues(new Uint16Array(1))[0]}`;
  // The time rides along as metadata so the reconcile job can tell whether a committed write came after it.
  await kv.put(KV_KEYS.catalogVersion, next, { metadata: { bumpedAt } satisfies CatalogVersionMetadata });
  memo = { value: next, readAt: Date.now() };
  return next;
}

export type CatalogVersionMetadata = { bumpedAt: number };

/** When the version was last moved, or 0 if never (or by a release that did not record it). */
export async function catalogVersionBumpedAt(kv: KVNamespace): Promise<number> {
  const { metadata } = await kv.getWithMetadata<CatalogVersionMetadata>(KV_KEYS.catalogVersion);
  return typeof metadata?.bumpedAt === 'number' ? metadata.bumpedAt : 0;
}

/**
 * The follow-up every catalog write commits with. If KV fails after the batch, the write still answers with
 * success; the reconcile job (src/jobs/catalog-version.ts) sees a catalog event newer than the version and
 * bumps it then.
 */
export function catalogVersionBump(kv: KVNamespace): FollowUp {
  return { name: 'catalog_version.bump', run: () => bumpCatalogVersion(kv) };
}
