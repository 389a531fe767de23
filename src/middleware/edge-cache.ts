/**
 * Caches public storefront GETs at the location that served them, in two tiers: a small in-isolate memory
 * cache (no I/O at all) in front of the Cache API. The key holds the path, the normalized query, the resolved
 * country, region and locale, and the catalog version; so a shopper is never handed another region's prices,
 * and a catalog write (which bumps the version) makes every older entry unreachable in both tiers.
 * Browsers get `no-cache` plus an ETag: they revalidate every time and get a cheap 304 when nothing changed.
 */
import { createMiddleware } from 'hono/factory';
import type { StoreEnv } from '../lib/app-env';
import { MemoryCache } from '../lib/memory-cache';
import { timed } from './request-context';

/** How long the Cache API keeps an entry; versioned keys make staleness impossible, so this only bounds storage. */
const EDGE_TTL_SECONDS = 86_400;
/** Parameters that become part of the resolved context rather than of the key. */
const CONTEXT_PARAMS = new Set(['region', 'locale']);

type Entry = { body: ArrayBuffer; headers: [string, string][]; etag: string; size: number };

const memory = new MemoryCache<Entry>(500, 8 * 1024 * 1024);

export function cacheKeyFor(
  url: URL,
  context: { country: string | null; region: string; locale: string; version: string },
): string {
  const params = [...url.searchParams]
    .filter(([name]) => !CONTEXT_PARAMS.has(name))
    .sort(([a, av], [b, bv]) => (a === b ? av.localeCompare(bv) : a.localeCompare(b)));
  const key = new URL(`https://edge-cache.edgecart.internal${url.pathname}`);
  for (const [name, value] of params) key.searchParams.append(name, value);
  // The country is part of the key because responses echo it in their context.
  key.searchParams.set('__country', context.country ?? '');
  key.searchParams.set('__region', context.region);
  key.searchParams.set('__locale', context.locale);
  key.searchParams.set('__v', context.version);
  return key.toString();
}

function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = etag.replace(/^W\//, '');
  return ifNoneMatch === '*' || ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
}

/** The response a client gets for an entry: the body, or 304 when its ETag already matches. */
function respond(entry: Entry, status: 'HIT' | 'MISS', ifNoneMatch: string | undefined): Response {
  const headers = new Headers(entry.headers);
  headers.set('ETag', entry.etag);
  headers.set('Cache-Control', 'private, no-cache');
  headers.set('Vary', 'Accept-Language');
  headers.set('X-Cache', status);
  if (matchesEtag(ifNoneMatch, entry.etag)) {
    for (const name of [...headers.keys()]) {
      if (!['etag', 'cache-control', 'vary', 'x-cache'].includes(name)) headers.delete(name);
    }
    return new Response(null, { status: 304, headers });
  }
  return new Response(entry.body, { status: 200, headers });
}

async function etagOf(body: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', body));
  return `"${[...digest.slice(0, 12)].map((b) => b.toString(16).padStart(2, '0')).join('')}"`;
}

async function fromCacheApi(key: string): Promise<Entry | undefined> {
  const stored = await caches.default.match(key);
  if (!stored) return undefined;
  const body = await stored.arrayBuffer();
  const headers = [...stored.headers].filter(([name]) => name !== 'cache-control' && name !== 'etag');
  return { body, headers, etag: stored.headers.get('ETag') ?? (await etagOf(body)), size: body.byteLength };
}

export function edgeCache() {
  return createMiddleware<StoreEnv>(async function edgeCache(c, next) {
    // A credentialed request may see private data: it never reads or fills the shared cache.
    if (c.req.method !== 'GET' || c.req.header('Authorization')) {
      c.set('cacheStatus', 'BYPASS');
      return next();
    }
    const store = c.get('store');
    const key = cacheKeyFor(new URL(c.req.url), {
      country: store.country,
      region: store.region.code,
      locale: store.locale,
      version: store.catalogVersion,
    });
    const ifNoneMatch = c.req.header('If-None-Match');

    const hit = memory.get(key) ?? (await timed(c.get('timings'), 'cache', () => fromCacheApi(key)));
    if (hit) {
      memory.set(key, hit);
      c.set('cacheStatus', 'HIT');
      c.res = respond(hit, 'HIT', ifNoneMatch);
      return;
    }

    c.set('cacheStatus', 'MISS');
    await next();
    if (c.res.status !== 200) return;

    const body = await c.res.arrayBuffer();
    const entry: Entry = {
      body,
      headers: [...c.res.headers],
      etag: await etagOf(body),
      size: body.byteLength,
    };
    memory.set(key, entry);
    const stored = new Headers(entry.headers);
    stored.set('ETag', entry.etag);
    stored.set('Cache-Control', `public, max-age=${EDGE_TTL_SECONDS}`);
    c.executionCtx.waitUntil(caches.default.put(key, new Response(body, { status: 200, headers: stored })));
    c.res = undefined;
    c.res = respond(entry, 'MISS', ifNoneMatch);
  });
}
