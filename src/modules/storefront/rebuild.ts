/**
 * Rebuilding a region's read model in steps. A change to a region's currency or locales rewrites the region's
 * rows for every product (sort keys in the new currency, titles along the new locale chain), which in a large
 * catalog is far more than one D1 batch may do: about 0.5-1.2 ms a product, so past D1's 30 s limit on a batch
 * from some 20,000 products (docs/BENCHMARKS.md).
 *
 * So the change's own batch rebuilds the region's rows of the first `chunk` products by id and records where it
 * stopped in `storefront_rebuilds`; each step after it (the storefront-rebuild job and the region event's
 * consumer, through continueStorefrontRebuilds) rebuilds the next `chunk` products and moves the mark on, in one
 * batch; the step that reaches the last product deletes the mark, drops the lanes of locales the region no
 * longer offers (empty by then) and moves the catalog's cache version. A catalog no larger than one chunk is
 * rebuilt whole in the change's own batch, as every other catalog write is.
 *
 * Every step computes rows from the catalog and the region as they are when its batch runs, so any order of
 * steps, repeated steps and catalog writes in between leaves the read model equal to the catalog once the last
 * step has run. A product written meanwhile is right at once: its own write rebuilds its rows in every region.
 * A second change of the region starts the walk again from the first product.
 *
 * Meanwhile (the staleness bound, docs/ARCHITECTURE.md): products not yet reached keep the region's rows of the
 * previous currency and locales, and listings cached since the change keep what they showed until the last step.
 */
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { storefrontLanes, storefrontRebuilds } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { CatalogVersionBump } from '../../lib/catalog-version-bumps';
import { commit } from '../../lib/commit';
import { createDb, type Database } from '../../lib/db';
import { refreshStorefront } from './projection';
import { productsAfter } from './statements';

/** Products per step when STOREFRONT_REBUILD_CHUNK is unset or malformed: about a second of D1 time. */
export const DEFAULT_REBUILD_CHUNK = 1000;

export function rebuildChunk(env: Pick<Env, 'STOREFRONT_REBUILD_CHUNK'>): number {
  const chunk = Number(env.STOREFRONT_REBUILD_CHUNK);
  return Number.isInteger(chunk) && chunk > 0 ? chunk : DEFAULT_REBUILD_CHUNK;
}

/** The largest id among the products a step after `after` rebuilds ('' when there are none). */
const lastOfStep = (after: string, chunk: number) =>
  sql`(SELECT coalesce(max(id), '') FROM (${productsAfter(after, chunk)}))`;

/**
 * Ends the rebuild when its mark has passed the last product: the mark goes, then the lanes of locales the
 * region no longer offers, whose entries every step has been deleting.
 */
function finishing(db: Database, regionId: string): BatchItem<'sqlite'>[] {
  return [
    db
      .delete(storefrontRebuilds)
      .where(
        sql`region_id = ${regionId} AND NOT EXISTS (SELECT 1 FROM products WHERE id > storefront_rebuilds.after_product)`,
      ),
    db.delete(storefrontLanes).where(sql`region_id = ${regionId}
      AND locale NOT IN (SELECT value FROM json_each((SELECT locales FROM regions WHERE id = ${regionId})))
      AND NOT EXISTS (SELECT 1 FROM storefront_rebuilds WHERE region_id = ${regionId})`),
  ];
}

/**
 * The statements a region's create or currency/locale change puts in its own batch: the first step, and the
 * mark the next steps start from (set again, so a change during a rebuild starts the walk over).
 */
export function startRegionRebuild(db: Database, regionId: string, chunk: number): BatchItem<'sqlite'>[] {
  return [
    ...refreshStorefront(db, { region: regionId, after: '', chunk }),
    db
      .insert(storefrontRebuilds)
      // `WHERE true` lets SQLite parse the ON CONFLICT clause after the SELECT.
      .select(
        sql`SELECT ${regionId}, ${lastOfStep('', chunk)}, CAST(unixepoch('subsec') * 1000 AS INTEGER) WHERE true`,
      )
      .onConflictDoUpdate({
        target: storefrontRebuilds.regionId,
        set: { afterProduct: sql`excluded.after_product`, requestedAt: sql`excluded.requested_at` },
      }),
    ...finishing(db, regionId),
  ];
}

type Mark = typeof storefrontRebuilds.$inferSelect;

/**
 * One step after `mark`, as one batch. The mark moves only if no change of the region has set it again since it
 * was read; the rows rebuilt are right either way, as they are computed from the region as it is.
 */
async function step(db: Database, caller: Caller, mark: Mark, chunk: number): Promise<void> {
  const { regionId, afterProduct, requestedAt } = mark;
  await commit(db, caller, {
    statements: [
      ...refreshStorefront(db, { region: regionId, after: afterProduct, chunk }),
      db
        .update(storefrontRebuilds)
        .set({ afterProduct: lastOfStep(afterProduct, chunk) })
        .where(
          and(
            eq(storefrontRebuilds.regionId, regionId),
            eq(storefrontRebuilds.afterProduct, afterProduct),
            eq(storefrontRebuilds.requestedAt, requestedAt),
          ),
        ),
      ...finishing(db, regionId),
    ],
    // Run first in the batch, so the condition is "this step reaches the last product".
    versions: CatalogVersionBump.regionRebuilt(
      db,
      sql`NOT EXISTS (SELECT 1 FROM products WHERE id > ${afterProduct} ORDER BY id LIMIT 1 OFFSET ${chunk})`,
    ),
  });
}

export type RebuildProgress = { steps: number; pending: number };

/**
 * Runs steps, oldest rebuild first, until none is pending, `until.deadline` (epoch ms) has passed or
 * `until.steps` have run; what is left waits for the next run. Safe to run in several places at once: two runners
 * may repeat a step, never spoil one.
 */
export async function continueStorefrontRebuilds(
  env: Env,
  caller: Caller,
  until: { deadline: number; steps?: number },
): Promise<RebuildProgress> {
  const db = createDb(env.DB);
  const chunk = rebuildChunk(env);
  const maxSteps = until.steps ?? Number.POSITIVE_INFINITY;
  let steps = 0;
  for (;;) {
    const marks = await db
      .select()
      .from(storefrontRebuilds)
      .orderBy(asc(storefrontRebuilds.requestedAt), asc(storefrontRebuilds.regionId));
    const [oldest] = marks;
    if (oldest === undefined || steps >= maxSteps || Date.now() >= until.deadline) {
      return { steps, pending: marks.length };
    }
    await step(db, caller, oldest, chunk);
    steps++;
  }
}

/**
 * The marks of `regionIds` whose rebuild is under way (region id, and when the change was made, epoch ms), as a
 * query to run in the caller's batch; a region without one shows the region as it is.
 */
export function rebuildMarksOf(db: Database, regionIds: string[]) {
  return db
    .select({ regionId: storefrontRebuilds.regionId, requestedAt: storefrontRebuilds.requestedAt })
    .from(storefrontRebuilds)
    .where(inArray(storefrontRebuilds.regionId, regionIds));
}
