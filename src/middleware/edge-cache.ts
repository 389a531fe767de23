/**
 * Caches public storefront GETs with the Cache API at the location that served them. The key holds the path,
 * the normalized query, the resolved country, region and locale, and the catalog version; so a shopper is never handed
 * another region's prices, and a catalog write (which bumps the version) makes every older entry unreachable.
 * Browsers get `no-cache` plus an ETag: they revalidate every time and get a cheap 304 when nothing changed.
 */
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env';
import { timed } from './request-context';

/** How long the edge keeps an entry; versioned keys make staleness impossible, so this only bounds storage. */
const EDGE_TTL_SECONDS = 86_400;
/** Parameters that become part of the resolved context rather than of the key. */
const CONTEXT_PARAMS = new Set(['region', 'locale']);

export function cacheKeyFor(
  url: URL,
  context: { country: string | null; region: string; locale: string; version: string },
): Request {
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
  return new Request(key.toString(), { method: 'GET' });
}

function clientHeaders(headers: Headers, status: 'HIT' | 'MISS'): Headers {
  const out = new Headers(headers);
  out.set('Cache-Control', 'private, no-cache');
  out.set('Vary', 'Accept-Language');
  out.set('X-Cache', status);
  return out;
}

function matchesEtag(ifNoneMatch: string | undefined, etag: string | null): boolean {
  if (!ifNoneMatch || !etag) return false;
  const bare = etag.replace(/^W\//, '');
  return ifNoneMatch === '*' || ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
}

function notModified(headers: Headers): Response {
  const out = new Headers();
  for (const name of ['ETag', 'Cache-Control', 'Vary', 'X-Cache']) {
    const value = headers.get(name);
    if (value) out.set(name, value);
  }
  return new Response(null, { status: 304, headers: out });
}

async function etagOf(body: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', body));
  return `"${[...digest.slice(0, 12)].map((b) => b.toString(16).padStart(2, '0')).join('')}"`;
}

export function edgeCache() {
  return createMiddleware<AppEnv>(async function edgeCache(c, next) {
    if (c.req.method !== 'GET') {
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
    const cache = caches.default;
    const timings = c.get('timings');
    const ifNoneMatch = c.req.header('If-None-Match');

    const hit = await timed(timings, 'cache', () => cache.match(key));
    if (hit) {
      c.set('cacheStatus', 'HIT');
      const headers = clientHeaders(hit.headers, 'HIT');
      c.res = matchesEtag(ifNoneMatch, hit.headers.get('ETag'))
        ? notModified(headers)
        : new Response(hit.body, { status: hit.status, headers });
      return;
    }

    c.set('cacheStatus', 'MISS');
    await next();
    if (c.res.status !== 200) return;

    const body = await c.res.arrayBuffer();
    const etag = await etagOf(body);
    const stored = new Headers(c.res.headers);
    stored.set('ETag', etag);
    stored.set('Cache-Control', `public, max-age=${EDGE_TTL_SECONDS}`);
    c.executionCtx.waitUntil(cache.put(key, new Response(body, { status: 200, headers: stored })));

    const headers = clientHeaders(stored, 'MISS');
    c.res = undefined;
    c.res = matchesEtag(ifNoneMatch, etag)
      ? notModified(headers)
      : new Response(body, { status: 200, headers });
  });
}
