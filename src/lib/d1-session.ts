/**
 * D1 read replication works only through the Sessions API: queries of one session are sequentially consistent
 * (they see the session's own writes and never go back in time), and its first query goes where the constraint
 * says: `first-unconstrained` to the nearest replica, `first-primary` to the primary, a bookmark to any replica
 * at least as new as that bookmark. Without replication (locally, or before it is enabled) every query goes to
 * the one database and all of this costs nothing.
 *
 * A request opens at most one session and routes all its queries through it: `sessionDatabase` presents the
 * session as a D1Database, so services, drizzle (whose D1 driver only calls `prepare` and `batch`) and
 * `createDb` use it unchanged. `exec` and `dump`, which sessions do not have, go to the database itself.
 */

/** What Cloudflare's examples use to carry a session across requests (`x-d1-bookmark`). */
export const BOOKMARK_HEADER = 'X-D1-Bookmark';

/**
 * The shape of a D1 bookmark (`00000000-00000003-00000000-<32 hex>`). A header that is not one is ignored
 * rather than handed to D1, which would fail the request's first query on it.
 */
const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

export function parseBookmark(value: string | undefined): D1SessionBookmark | undefined {
  return value !== undefined && BOOKMARK.test(value) ? value : undefined;
}

export type SessionDatabase = D1Database & {
  /** The newest bookmark the session has seen, or null before its first query. */
  bookmark(): D1SessionBookmark | null;
};

class RoutedDatabase implements SessionDatabase {
  private session: D1DatabaseSession | undefined;

  constructor(
    private readonly d1: D1Database,
    private readonly constraint: D1SessionBookmark | D1SessionConstraint,
  ) {}

  /** Opened on the first query, so a request that answers from the cache opens none. */
  private current(): D1DatabaseSession {
    this.session ??= this.d1.withSession(this.constraint);
    return this.session;
  }

  prepare(query: string): D1PreparedStatement {
    return this.current().prepare(query);
  }

  batch<T = unknown>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> {
    return this.current().batch<T>(statements);
  }

  exec(query: string): Promise<D1ExecResult> {
    return this.d1.exec(query);
  }

  withSession(constraintOrBookmark?: D1SessionBookmark | D1SessionConstraint): D1DatabaseSession {
    return this.d1.withSession(constraintOrBookmark);
  }

  dump(): Promise<ArrayBuffer> {
    return this.d1.dump();
  }

  bookmark(): D1SessionBookmark | null {
    return this.session?.getBookmark() ?? null;
  }
}

/** `d1` with every query of the caller routed through one session opened at `constraint`. */
export function sessionDatabase(
  d1: D1Database,
  constraint: D1SessionBookmark | D1SessionConstraint,
): SessionDatabase {
  return new RoutedDatabase(d1, constraint);
}
