/**
 * Caches public storefront GETs (and HEADs) at the location that served them, in two tiers: a small in-isolate
 * memory cache (no I/O at all) in front of the Cache API. The key holds the path, the query as the validators
 * read it (normalized), the resolved country, region and locale, and the versions of the cache scopes the response
 * depends on (src/lib/cache-versions.ts); so a shopper is never handed another region's prices, and a catalog
 * write makes exactly the entries it changed unreachable in both tiers. The memory tier uses the URL as sent in
 * place of the path and normalized query, so that a hit parses nothing.
 * Browsers get `no-cache` plus an ETag: they revalidate every time and get a cheap 304 when nothing changed.
 *
 * Concurrent misses of one key in an isolate are computed once: the first request looks the key up in the Cache
 * API and renders it on a miss, and the others wait for its entry instead of running the same queries (after a
 * write, a hot listing is otherwise rendered once per waiting shopper).
 */
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { StoreEnv } from '../lib/app-env';
import { type CacheVersions, EDGE_TTL_SECONDS } from '../lib/cache-versions';
import { sessionDatabase } from '../lib/d1-session';
import { MemoryCache } from '../lib/memory-cache';
import { timed } from './request-context';

/**
 * Hono runs a HEAD as a GET and drops the body; RFC 9110 wants the GET's header fields, so both are answered from
 * one entry (ETag, caching headers, 304), and a HEAD costs what a GET costs.
 */
const CACHED_METHODS = new Set(['GET', 'HEAD']);
/** Parameters that become part of the resolved context rather than of the key. */
const CONTEXT_PARAMS = new Set(['region', 'locale']);
/** Keys live under a host of their own, so they can never be mistaken for a URL the Worker serves. */
const KEY_ORIGIN = 'https://edge-cache.edgecart.internal';

/**
 * The cache scopes a path's response depends on (src/lib/cache-versions.ts), or undefined for a path whose
 * responses are not cached.
 */
export type CacheScopes = (path: string) => readonly string[] | undefined;

/**
 * What an entry holds: the representation, the same for every requester. Per-requester headers (CORS, `Vary:
 * Origin`, X-Request-Id, Server-Timing) are computed for each request by the middleware around this one and are
 * never stored, or a hit would hand one origin's CORS grant to another.
 */
type Entry = {
  body: ArrayBuffer;
  contentType: string;
  etag: string;
  size: number;
  /** The headers of each kind of answer given from this entry, built on first use (see respond). */
  answers: Partial<Record<string, Headers>>;
};

const memory = new MemoryCache<Entry>(500, 8 * 1024 * 1024);
/** Keys being looked up or rendered by a request of this isolate; undefined when that one was not cacheable. */
const inflight = new Map<string, Promise<Entry | undefined>>();

/** Orders query parameters by name, then value, by UTF-16 code units: the same order for any permutation. */
function byNameThenValue([a, av]: [string, string], [b, bv]: [string, string]): number {
  if (a !== b) return a < b ? -1 : 1;
  return av < bv ? -1 : av > bv ? 1 : 0;
}

/**
 * The cache key of a storefront GET: its path, and its query as the route's validators read it (Hono's
 * `c.req.queries()`), so that two requests share a key only when the handler cannot tell them apart. Another
 * parser would merge requests the handler answers differently: URLSearchParams decodes an undecodable `%FF` to
 * U+FFFD, as it does the valid `%EF%BF%BD`, where Hono keeps the text `%FF`, so those two searches would share
 * one page. Linear in the query (one filter, one sort, one serialization): appending parameters to a URL one by
 * one reserializes its whole query each time, which made a URL of thousands of parameters cost a second of CPU.
 */
export function cacheKeyFor(
  path: string,
  query: Record<string, string[]>,
  context: { country: string | null; region: string; locale: string; version: string },
): string {
  const params = Object.entries(query)
    .filter(([name]) => !CONTEXT_PARAMS.has(name))
    .flatMap(([name, values]) => values.map((value): [string, string] => [name, value]))
    .sort(byNameThenValue);
  // The country is part of the key because responses echo it in their context.
  params.push(
    ['__country', context.country ?? ''],
    ['__region', context.region],
    ['__locale', context.locale],
    ['__v', context.version],
  );
  return `${KEY_ORIGIN}${path}?${new URLSearchParams(params)}`;
}

function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = etag.replace(/^W\//, '');
  return ifNoneMatch === '*' || ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
}

/**
 * The response a client gets for an entry: the body, or 304 when its ETag already matches. Assigned to `c.res`,
 * it keeps the per-request headers already on the context's response (Hono copies them over), and middleware
 * around this one adds the rest after it. Its headers are built once per entry and kind of answer, and the
 * Response constructor copies them.
 */
function respond(entry: Entry, status: 'HIT' | 'MISS', ifNoneMatch: string | undefined): Response {
  const notModified = matchesEtag(ifNoneMatch, entry.etag);
  const kind = notModified ? `${status} 304` : status;
  entry.answers[kind] ??= new Headers([
    ['ETag', entry.etag],
    ['Cache-Control', 'private, no-cache'],
    ['Vary', 'Accept-Language'],
    ['X-Cache', status],
    ...(notModified ? [] : [['Content-Type', entry.contentType] as [string, string]]),
  ]);
  return new Response(notModified ? null : entry.body, {
    status: notModified ? 304 : 200,
    headers: entry.answers[kind],
  });
}

async function etagOf(body: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', body));
  return `"${[...digest.slice(0, 12)].map((b) => b.toString(16).padStart(2, '0')).join('')}"`;
}

async function fromCacheApi(key: string): Promise<Entry | undefined> {
  const stored = await caches.default.match(key);
  if (!stored) return undefined;
  const body = await stored.arrayBuffer();
  return {
    body,
    contentType: stored.headers.get('Content-Type') ?? 'application/json',
    etag: stored.headers.get('ETag') ?? (await etagOf(body)),
    size: body.byteLength,
    answers: {},
  };
}

/**
 * The format of cached storefront responses, the first part of every version tag: raised by a change that makes
 * the same catalog answer differently, so that no location serves a page the previous code cached (a next_cursor
 * of a shape the new code refuses). 2: a category and a collection, by date or price, page by the pair's number;
 * 3: so do option values; 4: so does a price bound newest first.
 */
export const RESPONSE_FORMAT = 4;

/** The response format and the versions of `scopes` as one key component, e.g. `3.0.1795690869140`. */
export function versionTag(versions: CacheVersions, scopes: readonly string[]): string {
  return [RESPONSE_FORMAT, ...scopes.map((scope) => versions.of(scope))].join('.');
}

/**
 * The first request for a key: the Cache API, else the handler. Its catalog reads go through a D1 session that
 * starts at the bookmark the versions were read at, so a replica that has not caught up with those versions
 * cannot fill their key with older content.
 */
async function lookUpOrRender(
  c: Context<StoreEnv>,
  next: () => Promise<void>,
  key: string,
  memoryKey: string,
  ifNoneMatch: string | undefined,
): Promise<Entry | undefined> {
  const stored = await timed(c.get('timings'), 'cache', () => fromCacheApi(key));
  if (stored) {
    memory.set(memoryKey, stored);
    c.set('cacheStatus', 'HIT');
    c.res = respond(stored, 'HIT', ifNoneMatch);
    return stored;
  }

  c.set('cacheStatus', 'MISS');
  c.env = {
    ...c.env,
    DB: sessionDatabase(c.env.DB, c.get('store').versions.bookmark ?? 'first-unconstrained'),
  };
  await next();
  if (c.res.status !== 200) return undefined;

  const body = await c.res.arrayBuffer();
  const entry: Entry = {
    body,
    contentType: c.res.headers.get('Content-Type') ?? 'application/json',
    etag: await etagOf(body),
    size: body.byteLength,
    answers: {},
  };
  memory.set(memoryKey, entry);
  const cached = new Response(body, {
    status: 200,
    headers: {
      'Content-Type': entry.contentType,
      ETag: entry.etag,
      'Cache-Control': `public, max-age=${EDGE_TTL_SECONDS}`,
    },
  });
  c.executionCtx.waitUntil(caches.default.put(key, cached));
  // The handler's response carries this request's own headers (CORS); assigning keeps them on the answer.
  c.res = respond(entry, 'MISS', ifNoneMatch);
  return entry;
}

export function edgeCache(scopesOf: CacheScopes) {
  return createMiddleware<StoreEnv>(async function edgeCache(c, next) {
    const scopes = scopesOf(c.req.path);
    // A credentialed request may see private data: it never reads or fills the shared cache.
    if (!scopes || !CACHED_METHODS.has(c.req.method) || c.req.header('Authorization')) {
      c.set('cacheStatus', 'BYPASS');
      return next();
    }
    const store = c.get('store');
    const tag = versionTag(store.versions, scopes);
    // The memory tier is keyed by the URL as sent and the resolved context, so a hit parses nothing; the
    // normalized key (one entry for every order of the same parameters) is built only when memory misses.
    const memoryKey = `${c.req.url} ${store.country} ${store.region.code} ${store.locale} ${tag}`;
    const ifNoneMatch = c.req.header('If-None-Match');

    const remembered = memory.get(memoryKey);
    if (remembered) {
      c.set('cacheStatus', 'HIT');
      c.res = respond(remembered, 'HIT', ifNoneMatch);
      return;
    }

    const key = cacheKeyFor(new URL(c.req.url).pathname, c.req.queries(), {
      country: store.country,
      region: store.region.code,
      locale: store.locale,
      version: tag,
    });
    const pending = inflight.get(key);
    if (pending) {
      const shared = await pending;
      if (shared) {
        memory.set(memoryKey, shared);
        c.set('cacheStatus', 'COALESCED');
        c.res = respond(shared, 'MISS', ifNoneMatch);
        return;
      }
      // The first request's answer was not cacheable (an error): this one renders its own.
      c.set('cacheStatus', 'MISS');
      return next();
    }

    const work = lookUpOrRender(c, next, key, memoryKey, ifNoneMatch);
    // Waiting requests only ever see an entry or undefined; the first request's own error reaches it alone.
    const shared = work.catch(() => undefined);
    inflight.set(key, shared);
    // Others wait on this work: it must finish, and the key be released, even if this request is cancelled
    // (its own continuation would then never run, and every later request for the key would wait forever).
    c.executionCtx.waitUntil(
      shared.then(() => {
        if (inflight.get(key) === shared) inflight.delete(key);
      }),
    );
    await work;
  });
}
