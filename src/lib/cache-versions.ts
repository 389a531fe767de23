/**
 * What each isolate knows of the cache versions (table `cache_versions`, written in the batch of every catalog
 * write: src/lib/catalog-version-bumps.ts). An edge-cache key names the versions of the scopes its response
 * depends on, so a write makes exactly the responses it changed unreachable, at every location, without purging:
 *
 * - `catalog`: every response (region writes: currency, tax, locales, the region list, country mapping);
 * - `listing`: every list (product listings, the category tree, collections);
 * - `product:<handle>`: one product page.
 *
 * A cache hit must not wait for D1, so an isolate reads versions at most once per REFRESH_MS, and then only the
 * rows that changed since its last read (a range seek on `cache_versions_version_idx`, normally empty). The
 * bound on staleness at any location is therefore REFRESH_MS, plus the replica's lag behind the primary (the
 * read goes to the nearest replica), plus the one read's duration for requests that arrive while it runs. A
 * scope with no row in the isolate's view is at version 0: see HORIZON_MS for why an isolate does not need to
 * load every row when it starts.
 *
 * Reads are chained through D1 session bookmarks: each read starts from the bookmark of the previous one (so an
 * isolate never goes back in time), and the catalog reads of a cache MISS start from the bookmark of the
 * versions in its key (src/middleware/edge-cache.ts), so a replica behind those versions cannot fill a new key
 * with old content.
 */

/** How long an isolate serves from its view of the versions before asking D1 what changed. */
export const REFRESH_MS = 1_000;
/** How long the Cache API keeps an entry; it only bounds storage, the versions decide what is reachable. */
export const EDGE_TTL_SECONDS = 86_400;
/**
 * How far back a starting isolate reads. A scope last moved before then is taken as 0, which cannot serve a
 * stale page: an entry under version 0 stored before that move was stored more than EDGE_TTL_SECONDS ago, so
 * the Cache API has dropped it (an hour of margin covers clock differences); one stored since is current.
 */
export const HORIZON_MS = (EDGE_TTL_SECONDS + 3_600) * 1_000;

/** One isolate's view of the versions at one moment; a request keeps the view it started with. */
export class CacheVersions {
  constructor(
    private readonly versions: ReadonlyMap<string, number>,
    /** The D1 bookmark the view was read at (null before any read, or without sessions). */
    readonly bookmark: D1SessionBookmark | null,
  ) {}

  of(scope: string): number {
    return this.versions.get(scope) ?? 0;
  }
}

type View = {
  versions: CacheVersions;
  known: ReadonlyMap<string, number>;
  /** The largest version read so far: the next read asks for what is newer. Null until the first read lands. */
  newest: number | null;
  readAt: number;
};

const NEVER = Number.NEGATIVE_INFINITY;
let view: View = {
  versions: new CacheVersions(new Map(), null),
  known: new Map(),
  newest: null,
  readAt: NEVER,
};
/** Set while a request of this isolate reads the versions; the others keep serving the current view. */
let reading: Promise<CacheVersions> | undefined;
/** Counts this isolate's own version changes, so a read that overlapped one does not count as current. */
let ownChanges = 0;

/** Rows changed after a version, oldest first; a range seek on the version index. */
export const CHANGED_SINCE_SQL =
  'SELECT scope, version FROM cache_versions WHERE version > ? ORDER BY version';

/** The later of two bookmarks: they are fixed-width hex, so they order as strings. */
const later = (a: string | null, b: string | null) => (a === null || (b !== null && b > a) ? b : a);

async function readChanges(d1: D1Database, now: number): Promise<CacheVersions> {
  const changesBefore = ownChanges;
  const session = d1.withSession(view.versions.bookmark ?? 'first-unconstrained');
  const since = view.newest ?? now - HORIZON_MS;
  const { results } = await session
    .prepare(CHANGED_SINCE_SQL)
    .bind(since)
    .all<{ scope: string; version: number }>();
  // Merged into the view as it is now (another read may have landed meanwhile), never moving a version back.
  // A new map only when something changed: a view handed to a request never changes under it.
  let known = view.known;
  if (results.length > 0) {
    const merged = new Map(view.known);
    for (const row of results) {
      if (row.version > (merged.get(row.scope) ?? 0)) merged.set(row.scope, row.version);
    }
    known = merged;
  }
  const bookmark = later(view.versions.bookmark, session.getBookmark());
  view = {
    versions:
      known === view.known && bookmark === view.versions.bookmark
        ? view.versions
        : new CacheVersions(known, bookmark),
    known,
    newest: Math.max(view.newest ?? since, results.at(-1)?.version ?? since),
    readAt: ownChanges === changesBefore ? Math.max(view.readAt, now) : NEVER,
  };
  return view.versions;
}

/**
 * The isolate's current view, read again from D1 when it is older than REFRESH_MS. While one request reads, the
 * others serve the view they have, so no request waits for another's I/O (a promise settled by another request
 * is delivered late, and never if that request is cancelled). Only an isolate with no view yet has each request
 * read for itself. The request's `waitUntil` lets a read finish even if its request is cancelled.
 */
export function cacheVersions(
  d1: D1Database,
  context: Pick<ExecutionContext, 'waitUntil'>,
  now = Date.now(),
): CacheVersions | Promise<CacheVersions> {
  if (now - view.readAt < REFRESH_MS) return view.versions;
  const loaded = view.newest !== null;
  if (reading && loaded) return view.versions;
  const read = readChanges(d1, now);
  context.waitUntil(read);
  if (loaded) {
    reading = read;
    const done = () => {
      if (reading === read) reading = undefined;
    };
    read.then(done, done);
  }
  return read;
}

/**
 * Called after this isolate committed a version change: its next request reads the versions again rather than
 * waiting out REFRESH_MS, so a writer sees its own write on the storefront as soon as its replica does.
 */
export function cacheVersionsMoved(): void {
  ownChanges++;
  view = { ...view, readAt: NEVER };
}
