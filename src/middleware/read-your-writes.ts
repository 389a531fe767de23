/**
 * Staff see their own writes, also with D1 read replication on. Every admin request runs its queries in one D1
 * session (src/lib/d1-session.ts) and answers with the session's bookmark in `X-D1-Bookmark`. A read that sends
 * that bookmark back runs in a session starting at it: any replica at least as new serves it, so it sees the
 * write that produced the bookmark, without going to the primary.
 *
 * Everything else starts at the primary: writes (their up-front checks and a constraint race's re-check must
 * see every committed row, not a replica's), and reads without a bookmark (today's behaviour). Runs after the
 * credential check, which always reads the primary: a revoked key or session must not live on in a replica.
 */
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../lib/app-env';
import { BOOKMARK_HEADER, parseBookmark, sessionDatabase } from '../lib/d1-session';
import { addResponseHeaders } from '../lib/response-headers';

const READS = new Set(['GET', 'HEAD']);

export function readYourWrites() {
  return createMiddleware<AppEnv>(async function readYourWrites(c, next) {
    const bookmark = READS.has(c.req.method) ? parseBookmark(c.req.header(BOOKMARK_HEADER)) : undefined;
    const db = sessionDatabase(c.env.DB, bookmark ?? 'first-primary');
    c.env = { ...c.env, DB: db };
    await next();
    const latest = db.bookmark();
    if (latest) addResponseHeaders(c, [[BOOKMARK_HEADER, latest]]);
  });
}
