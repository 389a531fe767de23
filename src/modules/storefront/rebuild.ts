/**
 * Rebuilding the read model in steps, after a change whose rows are far more than one D1 batch may rewrite in a
 * large catalog (about 0.5-1.9 ms a product, so past D1's 30 s limit on a batch from some 20,000 products,
 * docs/BENCHMARKS.md):
 * - a region's currency or locales: the region's rows of every product (sort keys in the new currency, titles
 *   along the new locale chain);
 * - a category moved: every lane of the products in it or below it (they have other ancestors now);
 * - a collection's product list replaced: every lane of the products it lists now or listed before (the
 *   documents of both go in the change's own batch: they are much cheaper, and only there are the products it
 *   listed before known for certain);
 * - a leaf category or a collection deleted: every lane and full-text row of the products the category listed,
 *   or the entries in the collection's lanes and the full-text rows of the products it listed, which the delete's
 *   batch captures in `storefront_rebuild_products` before its links cascade away (their documents go in that
 *   batch too), then its lanes. The mark outlives the category or collection, so it names no owner:
 *   `deleted_list` says which it was;
 * - a region deleted: its entries and numbered pairs of every product (their triggers take the full-text rows),
 *   then its lanes. Its mark outlives the region, as a deleted list's does.
 *
 * A lane names its region, category or collection with no foreign key (migration 0028), so a delete leaves them
 * to the steps. Nothing reads them meanwhile: every read starts from a region, category or collection that
 * exists, and ids are never reused.
 *
 * So the change's own batch rebuilds the rows of the first `chunk` of those products by id and records where it
 * stopped in `storefront_rebuilds`; each step after it (the storefront-rebuild job and the storefront's event
 * consumer, through continueStorefrontRebuilds) rebuilds the next `chunk` and moves the mark on, in one batch;
 * the step that reaches the last product deletes the mark and moves the cache version the change moved (a
 * region's: also drops the lanes of locales it no longer offers, empty by then). A change whose products fit in
 * one chunk is rebuilt whole in its own batch, as every other catalog write is.
 *
 * Every step takes its products from the mark and computes their rows from the catalog as its batch finds them,
 * so two runners take one step after the other, and any order of steps and catalog writes in between leaves the
 * read model equal to the catalog once the last step has run. A product
 * written meanwhile is right at once: its own write rebuilds its rows everywhere. A second change of the same
 * target starts the walk again from the first product.
 *
 * Meanwhile (the staleness bound, docs/ARCHITECTURE.md): products not yet reached keep their rows as they were
 * before the change, and listings cached since the change keep what they showed until the last step.
 */
import { asc, inArray, type SQL, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { storefrontLanes, storefrontRebuildProducts, storefrontRebuilds } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { iso } from '../../lib/catalog-fields';
import { CatalogVersionBump } from '../../lib/catalog-version-bumps';
import { commit } from '../../lib/commit';
import { createDb, type Database } from '../../lib/db';
import { refreshStorefront, type StorefrontScope } from './projection';
import {
  collectionProductsAfter,
  deletedListProductsAfter,
  type IdsAfter,
  productsAfter,
  subtreeProductsAfter,
} from './statements';

/** Products per step when STOREFRONT_REBUILD_CHUNK is unset or malformed: one to three seconds of D1 time. */
export const DEFAULT_REBUILD_CHUNK = 1000;

/**
 * The most a step takes, whatever STOREFRONT_REBUILD_CHUNK says: some 10-30 s of D1 time, as much as a batch may
 * run, and the step's list of product ids (about 31 bytes each in the mark's row) far inside D1's 2 MB row.
 */
export const MAX_REBUILD_CHUNK = 10_000;

export function rebuildChunk(env: Pick<Env, 'STOREFRONT_REBUILD_CHUNK'>): number {
  const chunk = Number(env.STOREFRONT_REBUILD_CHUNK);
  return Number.isInteger(chunk) && chunk > 0 ? Math.min(chunk, MAX_REBUILD_CHUNK) : DEFAULT_REBUILD_CHUNK;
}

/**
 * What is rebuilt: a region's rows, the lanes of a moved category's products or of a collection's, the rows of the
 * products of a deleted category or collection, or a deleted region's rows (its id).
 */
type Target =
  | { region: string }
  | { category: string }
  | { collection: string }
  | { deletedCategory: string }
  | { deletedCollection: string }
  | { deletedRegion: string };

type Deletion = { deletedCategory: string } | { deletedCollection: string } | { deletedRegion: string };

/** The table of a rebuild's target, and the column a lane names it by. */
const OWNERS = {
  regions: 'region_id',
  categories: 'category_id',
  collections: 'collection_id',
} as const;

/** How a kind of rebuild walks its products, rebuilds them, and ends. */
type Kind = {
  /** The table of its target. */
  owner: keyof typeof OWNERS;
  /**
   * Set for a deletion: what its mark says was deleted, in place of an owner column (the target is gone, so no
   * foreign key names it).
   */
  deleted?: 'category' | 'collection' | 'region';
  /** The ids (`id`) of its products after a mark, in id order. */
  walk: (id: string, ids: IdsAfter) => SQL;
  /** The refresh of the products of the step under way. */
  scope: (id: string) => StorefrontScope;
  /** What the last step does besides deleting the mark (runs in every step, after the mark's statements). */
  finishing: (db: Database, id: string) => BatchItem<'sqlite'>[];
  /**
   * The cache version the last step moves (`lastStep` holds in that step's batch); none for a region's deletion,
   * whose own batch moved it (no listing shows the rows its steps delete).
   */
  bump?: (db: Database, lastStep: SQL) => CatalogVersionBump;
};

/** The mark of `id` is gone (a condition, in a statement about another table). */
const markGone = (id: string) => sql`NOT EXISTS (SELECT 1 FROM storefront_rebuilds WHERE target = ${id})`;

const REGION: Kind = {
  owner: 'regions',
  walk: (_region, ids) => productsAfter(ids),
  scope: (regionStep) => ({ regionStep }),
  // The lanes of locales the region no longer offers, whose entries every step has been deleting.
  finishing: (db, region) => [
    db.delete(storefrontLanes).where(sql`region_id = ${region}
      AND locale NOT IN (SELECT value FROM json_each((SELECT locales FROM regions WHERE id = ${region})))
      AND ${markGone(region)}`),
  ],
  bump: (db, lastStep) => CatalogVersionBump.regionRebuilt(db, lastStep),
};

const CATEGORY: Kind = {
  owner: 'categories',
  walk: subtreeProductsAfter,
  scope: (categoryStep) => ({ categoryStep }),
  finishing: () => [],
  bump: (db, lastStep) => CatalogVersionBump.listingsRebuilt(db, lastStep),
};

const COLLECTION: Kind = {
  owner: 'collections',
  walk: collectionProductsAfter,
  scope: (collectionStep) => ({ collectionStep }),
  finishing: () => [],
  bump: (db, lastStep) => CatalogVersionBump.listingsRebuilt(db, lastStep),
};

/**
 * The lanes of a deleted region, category or collection (`owner`, its table), once its mark is gone: empty by
 * then, as each step deleted its products' entries there. No foreign key cascades them (migration 0028).
 */
const emptiedLanes = (db: Database, owner: keyof typeof OWNERS, id: string) =>
  db.delete(storefrontLanes).where(sql`${sql.raw(OWNERS[owner])} = ${id} AND ${markGone(id)}`);

/**
 * The products a deleted category or collection listed, once its mark is gone. The target is NULL while it is
 * there, so the seek reads nothing (a condition beside `target = id` would be checked on every captured row).
 */
const capturedProducts = (db: Database, id: string) =>
  db.delete(storefrontRebuildProducts).where(sql`target = (SELECT ${id} WHERE ${markGone(id)})`);

/** A deleted category's or collection's last step: its captured products and its lanes, once its mark is gone. */
const deletedListFinishing =
  (owner: 'categories' | 'collections'): Kind['finishing'] =>
  (db, id) => [capturedProducts(db, id), emptiedLanes(db, owner, id)];

const DELETED_CATEGORY: Kind = {
  owner: 'categories',
  deleted: 'category',
  walk: deletedListProductsAfter,
  scope: (deletedCategoryStep) => ({ deletedCategoryStep }),
  finishing: deletedListFinishing('categories'),
  bump: (db, lastStep) => CatalogVersionBump.listingsRebuilt(db, lastStep),
};

const DELETED_COLLECTION: Kind = {
  ...DELETED_CATEGORY,
  owner: 'collections',
  deleted: 'collection',
  scope: (deletedCollectionStep) => ({ deletedCollectionStep }),
  finishing: deletedListFinishing('collections'),
};

const DELETED_REGION: Kind = {
  owner: 'regions',
  deleted: 'region',
  walk: REGION.walk,
  scope: (deletedRegionStep) => ({ deletedRegionStep }),
  // No write adds entries to a region that is gone.
  finishing: (db, region) => [emptiedLanes(db, 'regions', region)],
};

function kindOf(target: Target): [Kind, string] {
  if ('region' in target) return [REGION, target.region];
  if ('category' in target) return [CATEGORY, target.category];
  if ('collection' in target) return [COLLECTION, target.collection];
  if ('deletedCategory' in target) return [DELETED_CATEGORY, target.deletedCategory];
  if ('deletedRegion' in target) return [DELETED_REGION, target.deletedRegion];
  return [DELETED_COLLECTION, target.deletedCollection];
}

/**
 * The condition on a storefront_rebuilds row that it is the mark of `id`, of `kind`: its owner column set, or its
 * `deleted_list`. A step is built for one kind, and a mark can change kind between a runner's read and its batch
 * (a moved category deleted), so every statement of a step acts only on a mark still of its kind.
 */
const isMark = (kind: Kind, id: string) => {
  const held = kind.deleted ? `deleted_list = '${kind.deleted}'` : `${OWNERS[kind.owner]} IS NOT NULL`;
  return sql`target = ${id} AND ${sql.raw(held)}`;
};

/** The target's mark, in a statement about another table. */
const markOf = (id: string) => sql`(SELECT after_product FROM storefront_rebuilds WHERE target = ${id})`;

/**
 * One step of the rebuild of `id`, after its mark as the batch finds it: the first statement fixes the step's
 * products in the mark's row (the next `chunk` after the mark, read once), the refresh rebuilds them, the last
 * statement moves the mark to the last of them. Computed in the batch, the step is the mark's next one whatever
 * ran since the runner read the marks: a change that set the mark back, another runner's step.
 */
function stepStatements(db: Database, kind: Kind, id: string, chunk: number): BatchItem<'sqlite'>[] {
  // A mark of another kind leaves `step_products` empty, so the refresh rebuilds nothing.
  const mark = isMark(kind, id);
  const next = kind.walk(id, { after: sql`storefront_rebuilds.after_product`, chunk });
  return [
    db
      .update(storefrontRebuilds)
      .set({ stepProducts: sql`(SELECT json_group_array(id) FROM (${next}))` })
      .where(mark),
    ...refreshStorefront(db, kind.scope(id)),
    db
      .update(storefrontRebuilds)
      .set({
        afterProduct: sql`coalesce((SELECT max(value) FROM json_each(step_products)), after_product)`,
        stepProducts: null,
      })
      .where(mark),
  ];
}

/** The statements that end the rebuild when its mark has passed the last product: the mark goes, then the rest. */
function finishing(db: Database, kind: Kind, id: string): BatchItem<'sqlite'>[] {
  const rest = kind.walk(id, { after: sql`storefront_rebuilds.after_product` });
  return [
    db.delete(storefrontRebuilds).where(sql`${isMark(kind, id)} AND NOT EXISTS (${rest})`),
    ...kind.finishing(db, id),
  ];
}

/**
 * The statements a change puts in its own batch, after the change itself: the mark, set (or set back, so a
 * change during a rebuild starts the walk over) before the first product, then the first step.
 *
 * @example
 * statements: [
 *   db.update(categories).set({ parentId }).where(eq(categories.id, id)),
 *   ...startStorefrontRebuild(db, { category: id }, rebuildChunk(env)),
 * ]
 */
export function startStorefrontRebuild(
  db: Database,
  target: Exclude<Target, Deletion>,
  chunk: number,
): BatchItem<'sqlite'>[] {
  return [markSet(db, target), ...rebuildStep(db, target, chunk)];
}

/**
 * The statements a leaf category's or a collection's delete puts in its batch, BEFORE the delete (whose
 * cascades take the links that say which products it listed): the mark, the products it lists and those its
 * lanes still list (a category's from a subcategory moved out, a collection's from before a new list, whose
 * steps are under way), then the first step, which leaves the category or collection out of the rows it writes.
 * A rebuild of it under way (a move, a new list) becomes this one: its products are among those captured.
 *
 * @example
 * statements: [
 *   ...refreshStorefront(db, { leavingCategory: id }),
 *   ...startDeletedListRebuild(db, { category: id }, rebuildChunk(env)),
 *   db.delete(categories).where(eq(categories.id, id)),
 * ]
 */
export function startDeletedListRebuild(
  db: Database,
  list: { category: string } | { collection: string },
  chunk: number,
): BatchItem<'sqlite'>[] {
  const [target, id, listed]: [Deletion, string, SQL] =
    'category' in list
      ? [
          { deletedCategory: list.category },
          list.category,
          // Its lanes too: they may still list products of a subcategory moved out whose steps are under way.
          sql`SELECT product_id AS id FROM product_categories WHERE category_id = ${list.category}
            UNION ALL SELECT e.product_id FROM storefront_lanes l CROSS JOIN storefront_entries e ON e.lane = l.lane
            WHERE l.category_id = ${list.category}`,
        ]
      : [
          { deletedCollection: list.collection },
          list.collection,
          collectionProductsAfter(list.collection, { after: '' }),
        ];
  return [
    markSet(db, target),
    db
      .insert(storefrontRebuildProducts)
      .select(sql`SELECT DISTINCT ${id}, id FROM (${listed}) WHERE true`)
      .onConflictDoNothing(),
    ...rebuildStep(db, target, chunk),
  ];
}

/**
 * The statements a region's delete puts in its batch, BEFORE the delete (which must stay last, being
 * conditional): the mark, which takes the place of a rebuild of the region under way, then the first step. A
 * catalog that fits in one step loses the region's rows in that batch, as with any other write.
 *
 * @example
 * statements: [
 *   ...startRegionDeletion(db, id, rebuildChunk(env)),
 *   db.delete(regions).where(eq(regions.id, id)).returning({ id: regions.id }),
 * ]
 */
export function startRegionDeletion(db: Database, region: string, chunk: number): BatchItem<'sqlite'>[] {
  const target = { deletedRegion: region };
  return [markSet(db, target), ...rebuildStep(db, target, chunk)];
}

/**
 * The mark, set (or set back, so a change during a rebuild starts the walk over) before the first product. A
 * deletion's only while the target's row is there: one that lost a race with another delete leaves the winner's
 * walk where it is. A change's mark names its target by a foreign key, which fails the change's batch when a
 * delete won (its recheck answers 404, and nothing of it is written).
 */
function markSet(db: Database, target: Target) {
  const [kind, id] = kindOf(target);
  const ownerIs = (table: keyof typeof OWNERS) =>
    kind.deleted === undefined && kind.owner === table ? id : null;
  const owners = {
    regionId: ownerIs('regions'),
    categoryId: ownerIs('categories'),
    collectionId: ownerIs('collections'),
    deletedList: kind.deleted ?? null,
  };
  const present = sql`EXISTS (SELECT 1 FROM ${sql.raw(kind.owner)} WHERE id = ${id})`;
  return db
    .insert(storefrontRebuilds)
    .select(
      sql`SELECT ${id}, ${owners.regionId}, ${owners.categoryId}, ${owners.collectionId}, ${owners.deletedList}, '',
        CAST(unixepoch('subsec') * 1000 AS INTEGER), NULL
        WHERE ${kind.deleted === undefined ? sql`true` : present}`,
    )
    .onConflictDoUpdate({
      target: storefrontRebuilds.target,
      // The owners too: a deletion's mark must not go with the category, collection or region it outlives.
      set: {
        ...owners,
        afterProduct: sql`excluded.after_product`,
        requestedAt: sql`excluded.requested_at`,
      },
    });
}

type Mark = typeof storefrontRebuilds.$inferSelect;

function targetOf(mark: Mark): Target {
  if (mark.regionId !== null) return { region: mark.regionId };
  if (mark.categoryId !== null) return { category: mark.categoryId };
  if (mark.collectionId !== null) return { collection: mark.collectionId };
  if (mark.deletedList === 'category') return { deletedCategory: mark.target };
  if (mark.deletedList === 'region') return { deletedRegion: mark.target };
  return { deletedCollection: mark.target };
}

/** The statements of one step of `target`'s rebuild, after its mark (what a runner commits, bump aside). */
export function rebuildStep(db: Database, target: Target, chunk: number): BatchItem<'sqlite'>[] {
  const [kind, id] = kindOf(target);
  return [...stepStatements(db, kind, id, chunk), ...finishing(db, kind, id)];
}

/** One step of `mark`'s rebuild, as one batch. */
async function step(db: Database, caller: Caller, mark: Mark, chunk: number): Promise<void> {
  const target = targetOf(mark);
  const [kind, id] = kindOf(target);
  await commit(db, caller, {
    statements: rebuildStep(db, target, chunk),
    // Run first in the batch, so the condition is "the mark is there, and this step reaches the last product".
    versions: kind.bump?.(
      db,
      sql`EXISTS (SELECT 1 FROM storefront_rebuilds WHERE ${isMark(kind, id)}) AND NOT EXISTS (
        SELECT 1 FROM (${kind.walk(id, { after: markOf(id), chunk: chunk + 1 })}) LIMIT 1 OFFSET ${chunk})`,
    ),
  });
}

export type RebuildProgress = { steps: number; pending: number };

/**
 * Runs steps, oldest rebuild first, until none is pending, `until.deadline` (epoch ms) has passed or
 * `until.steps` have run; what is left waits for the next run. Safe to run in several places at once: each batch
 * takes the mark's next step, so two runners share the work.
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
 * The rebuilds under way of `targets` (regions, categories or collections: the target's id, and when the change
 * was made, epoch ms), as a query to run in the caller's batch; a target without one shows in the storefront as
 * it is.
 */
export function rebuildMarksOf(db: Database, targets: string[]) {
  return db
    .select({ target: storefrontRebuilds.target, requestedAt: storefrontRebuilds.requestedAt })
    .from(storefrontRebuilds)
    .where(inArray(storefrontRebuilds.target, targets));
}

/** What the admin API shows as `storefront_rebuild_since`, by target, from rebuildMarksOf's rows. */
export const rebuildSinceByTarget = (marks: { target: string; requestedAt: number }[]): Map<string, string> =>
  new Map(marks.map((mark) => [mark.target, iso(new Date(mark.requestedAt))]));
