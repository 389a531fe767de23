/**
 * Reconciles the catalog version with the catalog. Every catalog write commits an outbox event and then bumps
 * the KV version as a follow-up (src/lib/catalog-version.ts); a follow-up never fails the committed write, so a
 * KV outage can leave the edge cache serving the old catalog. This job closes that gap: if a catalog event
 * occurred after the version was last bumped, it bumps the version. Run every minute, it bounds the staleness a
 * failed bump can cause to about a minute, the same bound KV propagation already sets.
 *
 * A spurious bump (clock skew between D1 and the Worker) costs one round of cache misses; a missed one would
 * serve a stale catalog until the next write, so the comparison errs towards bumping.
 */
import { bumpCatalogVersion, catalogVersionBumpedAt } from '../lib/catalog-version';
import { type JobResult, runJob } from './run-job';

export const CATALOG_VERSION_JOB = 'catalog-version-reconcile';

/** The outbox aggregate types whose events change what the storefront shows. */
export const CATALOG_AGGREGATE_TYPES = ['region', 'product', 'variant', 'category', 'collection'] as const;

/**
 * The newest catalog event after a time, or null. A range seek per aggregate type on
 * outbox_events_aggregate_idx (aggregate_type, occurred_at): it reads only the events newer than the last bump,
 * normally none, however long the outbox grows.
 */
export const NEWEST_CATALOG_EVENT_SQL = `SELECT max(occurred_at) AS latest FROM outbox_events
WHERE aggregate_type IN (${CATALOG_AGGREGATE_TYPES.map(() => '?').join(', ')}) AND occurred_at > ?`;

export async function reconcileCatalogVersion(env: Env): Promise<JobResult> {
  const bumpedAt = await catalogVersionBumpedAt(env.KV);
  const row = await env.DB.prepare(NEWEST_CATALOG_EVENT_SQL)
    .bind(...CATALOG_AGGREGATE_TYPES, bumpedAt)
    .first<{ latest: number | null }>();
  const latest = row?.latest ?? null;
  if (latest === null) return { bumped: false };
  await bumpCatalogVersion(env.KV);
  return { bumped: true, event_at: latest, previous_bump_at: bumpedAt };
}

export function runCatalogVersionJob(env: Env): Promise<void> {
  return runJob(CATALOG_VERSION_JOB, () => reconcileCatalogVersion(env));
}
