/**
 * Rebuilding the read model in steps, after a change whose rows are far more than one D1 batch may rewrite in a
 * large catalog (about 0.5-1.9 ms a product, so past D1's 30 s limit on a batch from some 20,000 products,
 * docs/BENCHMARKS.md):
 * - a region's currency or locales: the region's rows of every product (sort keys in the new currency, titles
 *   along the new locale chain);
 * - a category moved: every lane of the products in it or below it (they have other ancestors now).
 *
 * So the change's own batch rebuilds the rows of the first `chunk` of those products by id and records where it
 * stopped in `storefront_rebuilds`; each step after it (the storefront-rebuild job and the storefront's event
 * consumer, through continueStorefrontRebuilds) rebuilds the next `chunk` and moves the mark on, in one batch;
 * the step that reaches the last product deletes the mark and moves the cache version the change moved (a
 * region's: also drops the lanes of locales it no longer offers, empty by then). A change whose products fit in
 * one chunk is rebuilt whole in its own batch, as every other catalog write is.
 *
 * Every step computes rows from the catalog as it is when its batch runs, so any order of steps, repeated steps
 * and catalog writes in between leaves the read model equal to the catalog once the last step has run. A product
 * written meanwhile is right at once: its own write rebuilds its rows everywhere. A second change of the same
 * region or category starts the walk again from the first product.
 *
 * Meanwhile (the staleness bound, docs/ARCHITECTURE.md): products not yet reached keep their rows as they were
 * before the change, and listings cached since the change keep what they showed until the last step.
 */
import { and, asc, eq, inArray, type SQL, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { storefrontLanes, storefrontRebuilds } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { CatalogVersionBump } from '../../lib/catalog-version-bumps';
import { commit } from '../../lib/commit';
import { createDb, type Database } from '../../lib/db';
import { refreshStorefront, type StorefrontScope } from './projection';
import { type IdRange, productsIn, subtreeProductsIn } from './statements';

/** Products per step when STOREFRONT_REBUILD_CHUNK is unset or malformed: about a second of D1 time. */
export const DEFAULT_REBUILD_CHUNK = 1000;

export function rebuildChunk(env: Pick<Env, 'STOREFRONT_REBUILD_CHUNK'>): number {
  const chunk = Number(env.STOREFRONT_REBUILD_CHUNK);
  return Number.isInteger(chunk) && chunk > 0 ? chunk : DEFAULT_REBUILD_CHUNK;
}

/** What is rebuilt: a region's rows, or the lanes of a category's products. */
type Target = { region: string } | { category: string };

/** How a kind of rebuild walks its products, rebuilds them, and ends. */
type Kind = {
  /** The ids (`id`) of its products in `range`, in id order. */
  walk: (id: string, range: IdRange) => SQL;
  scope: (id: string, after: string, through: string) => StorefrontScope;
  /** What the last step does besides deleting the mark (runs in every step, after the mark's statements). */
  finishing: (db: Database, id: string) => BatchItem<'sqlite'>[];
  /** The cache version the last step moves: `lastStep` holds in that step's batch. */
  bump: (db: Database, lastStep: SQL) => CatalogVersionBump;
};

const REGION: Kind = {
  walk: (_region, range) => productsIn(range),
  scope: (region, after, through) => ({ region, after, through }),
  // The lanes of locales the region no longer offers, whose entries every step has been deleting.
  finishing: (db, region) => [
    db.delete(storefrontLanes).where(sql`region_id = ${region}
      AND locale NOT IN (SELECT value FROM json_each((SELECT locales FROM regions WHERE id = ${region})))
      AND NOT EXISTS (SELECT 1 FROM storefront_rebuilds WHERE target = ${region})`),
  ],
  bump: (db, lastStep) => CatalogVersionBump.regionRebuilt(db, lastStep),
};

const CATEGORY: Kind = {
  walk: subtreeProductsIn,
  scope: (categoryTree, after, through) => ({ categoryTree, after, through }),
  finishing: () => [],
  bump: (db, lastStep) => CatalogVersionBump.categoryTreeRebuilt(db, lastStep),
};

const kindOf = (target: Target): [Kind, string] =>
  'region' in target ? [REGION, target.region] : [CATEGORY, target.category];

/**
 * What one step after `after` covers: the scope of the products up to the `chunk`-th after it, found by one read
 * before the step's batch, so that each statement of the batch seeks that range instead of walking to it again.
 * A product that joins the range before the batch runs is rebuilt with it; one past `through`, by a later step.
 */
async function stepOf(db: Database, kind: Kind, id: string, after: string, chunk: number) {
  const last = await db.get<{ id: string | null }>(
    sql`SELECT max(id) AS id FROM (${kind.walk(id, { after, chunk })})`,
  );
  const through = last?.id ?? after;
  return { through, scope: kind.scope(id, after, through) };
}

/** The statements that end the rebuild when its mark has passed the last product: the mark goes, then the rest. */
function finishing(db: Database, kind: Kind, id: string): BatchItem<'sqlite'>[] {
  return [
    db
      .delete(storefrontRebuilds)
      .where(
        sql`target = ${id} AND NOT EXISTS (${kind.walk(id, { after: sql`storefront_rebuilds.after_product`, chunk: 1 })})`,
      ),
    ...kind.finishing(db, id),
  ];
}

/** "No product is left after `through`": the condition, in a step's batch, that it is the last step. */
const lastStep = (kind: Kind, id: string, through: string) =>
  sql`NOT EXISTS (${kind.walk(id, { after: through, chunk: 1 })})`;

/**
 * The statements a change puts in its own batch: the first step, and the mark the next steps start from (set
 * again, so a change during a rebuild starts the walk over). The products it covers are read first (one query).
 *
 * @example statements: [db.update(categories).set({ parentId }).where(eq(categories.id, id)), ...(await startStorefrontRebuild(db, { category: id }, chunk))]
 */
export async function startStorefrontRebuild(
  db: Database,
  target: Target,
  chunk: number,
): Promise<BatchItem<'sqlite'>[]> {
  const [kind, id] = kindOf(target);
  const { through, scope } = await stepOf(db, kind, id, '', chunk);
  return [
    ...refreshStorefront(db, scope),
    db
      .insert(storefrontRebuilds)
      .values({
        target: id,
        regionId: 'region' in target ? target.region : null,
        categoryId: 'category' in target ? target.category : null,
        afterProduct: through,
        requestedAt: sql`CAST(unixepoch('subsec') * 1000 AS INTEGER)`,
      })
      .onConflictDoUpdate({
        target: storefrontRebuilds.target,
        set: { afterProduct: sql`excluded.after_product`, requestedAt: sql`excluded.requested_at` },
      }),
    ...finishing(db, kind, id),
  ];
}

type Mark = typeof storefrontRebuilds.$inferSelect;

const targetOf = (mark: Mark): Target =>
  mark.regionId !== null ? { region: mark.regionId } : { category: mark.target };

/**
 * One step after `mark`, as one batch. The mark moves only if no change of its target has set it again since it
 * was read; the rows rebuilt are right either way, as they are computed from the catalog as it is.
 */
async function step(db: Database, caller: Caller, mark: Mark, chunk: number): Promise<void> {
  const { target, afterProduct, requestedAt } = mark;
  const [kind, id] = kindOf(targetOf(mark));
  const { through, scope } = await stepOf(db, kind, id, afterProduct, chunk);
  await commit(db, caller, {
    statements: [
      ...refreshStorefront(db, scope),
      db
        .update(storefrontRebuilds)
        .set({ afterProduct: through })
        .where(
          and(
            eq(storefrontRebuilds.target, target),
            eq(storefrontRebuilds.afterProduct, afterProduct),
            eq(storefrontRebuilds.requestedAt, requestedAt),
          ),
        ),
      ...finishing(db, kind, id),
    ],
    // Run first in the batch, so the condition is "this step reaches the last product".
    versions: kind.bump(db, lastStep(kind, id, through)),
  });
}

/**
 * One step's scope for `target` after `after`, as a step would run it (bench/write-probe.ts measures a step with
 * it, its read included when `db` is metered).
 */
export async function stepScope(db: Database, target: Target, after: string, chunk: number) {
  const [kind, id] = kindOf(target);
  return (await stepOf(db, kind, id, after, chunk)).scope;
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
      .orderBy(asc(storefrontRebuilds.requestedAt), asc(storefrontRebuilds.target));
    const [oldest] = marks;
    if (oldest === undefined || steps >= maxSteps || Date.now() >= until.deadline) {
      return { steps, pending: marks.length };
    }
    await step(db, caller, oldest, chunk);
    steps++;
  }
}

/**
 * The rebuilds under way of `targets` (regions or categories: the target's id, and when the change was made,
 * epoch ms), as a query to run in the caller's batch; a target without one shows in the storefront as it is.
 */
export function rebuildMarksOf(db: Database, targets: string[]) {
  return db
    .select({ target: storefrontRebuilds.target, requestedAt: storefrontRebuilds.requestedAt })
    .from(storefrontRebuilds)
    .where(inArray(storefrontRebuilds.target, targets));
}
