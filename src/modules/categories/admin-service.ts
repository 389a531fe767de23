/**
 * Category writes. Categories form a tree: a category can never become its own ancestor. The move is checked
 * up front for a clear answer, and guarded again inside the UPDATE itself, because two concurrent moves
 * (A under B, B under A) could each pass the check alone and together close a loop.
 *
 * Events (aggregate `category`, payload `{ id }`): category.created, category.updated, category.deleted.
 */
import { eq, type SQL, sql } from 'drizzle-orm';
import { categories, categoryTranslations } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import {
  assertHandleFree,
  assertTranslationsRemain,
  type TranslationTable,
  translationPatchStatements,
  unknownReferences,
  upsertTranslations,
} from '../../lib/catalog-fields';
import { CatalogVersionBump } from '../../lib/catalog-version-bumps';
import { commit } from '../../lib/commit';
import { createDb, type Database } from '../../lib/db';
import { AppError, conflict, notFound } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { applyPatch, auditChanges } from '../../lib/row-changes';
import { refreshStorefront } from '../storefront/projection';
import { rebuildChunk, startDeletedListRebuild, startStorefrontRebuild } from '../storefront/rebuild';
import { getCategory } from './admin-read';
import type { AdminCategory, CreateCategoryInput, UpdateCategoryInput } from './admin-schemas';

type CategoryRow = typeof categories.$inferSelect;
type Translation = CreateCategoryInput['translations'][string];

const translations: TranslationTable<typeof categoryTranslations> = {
  table: categoryTranslations,
  owner: categoryTranslations.categoryId,
  locale: categoryTranslations.locale,
};
const translationRow = (categoryId: string) => (locale: string, t: Translation) => ({
  categoryId,
  locale,
  ...t,
});

const handleOf = { handle: categories.handle, id: categories.id };

/** True when `categoryId` is `parentId` or one of its ancestors, i.e. when the move would close a loop. */
function wouldCycle(categoryId: string, parentId: string): SQL<number> {
  return sql<number>`EXISTS (
    WITH RECURSIVE ancestors(id) AS (
      SELECT ${parentId}
      UNION
      SELECT c.parent_id FROM categories c JOIN ancestors a ON c.id = a.id WHERE c.parent_id IS NOT NULL
    )
    SELECT 1 FROM ancestors WHERE id = ${categoryId}
  )`;
}

const cycle = () =>
  new AppError(409, 'category_cycle', 'A category cannot be moved under itself or one of its descendants.', {
    errors: [{ pointer: '/body/parent_id', message: 'Choose a parent outside this category’s subtree' }],
  });

async function assertParentExists(db: Database, parentId: string | null | undefined) {
  if (!parentId) return;
  const row = await db
    .select({ id: categories.id })
    .from(categories)
    .where(eq(categories.id, parentId))
    .get();
  if (!row)
    throw unknownReferences([{ pointer: '/body/parent_id', message: `There is no category ${parentId}` }]);
}

async function checkCreate(db: Database, input: CreateCategoryInput) {
  await assertParentExists(db, input.parent_id);
  await assertHandleFree(db, handleOf, 'category', input.handle);
}

export async function createCategory(
  env: Env,
  caller: Caller,
  input: CreateCategoryInput,
  fields: string[],
): Promise<AdminCategory> {
  const db = createDb(env.DB);
  await checkCreate(db, input);
  const id = newId('cat');
  const now = new Date();
  const row: CategoryRow = {
    id,
    handle: input.handle,
    parentId: input.parent_id,
    position: input.position,
    createdAt: now,
    updatedAt: now,
  };
  await commit(db, caller, {
    statements: [
      db.insert(categories).values(row),
      ...upsertTranslations(
        db,
        translations,
        Object.entries(input.translations).map(([locale, t]) => translationRow(id)(locale, t)),
      ),
    ],
    audit: {
      action: 'category.create',
      targetType: 'category',
      targetId: id,
      changes: auditChanges(categories, fields, null, row),
    },
    events: [{ type: 'category.created', aggregateType: 'category', aggregateId: id, payload: { id } }],
    recheck: () => checkCreate(db, input),
    // It has no products yet, so no page names it.
    versions: CatalogVersionBump.category(db, id, false),
  });
  return getCategory(db, id);
}

/** The category as it is before the update, once the update is known to be allowed. */
async function checkUpdate(db: Database, id: string, input: UpdateCategoryInput): Promise<CategoryRow> {
  const [found, locales] = await db.batch([
    db.select().from(categories).where(eq(categories.id, id)),
    db
      .select({ locale: categoryTranslations.locale })
      .from(categoryTranslations)
      .where(eq(categoryTranslations.categoryId, id)),
  ]);
  const before = found[0];
  if (!before) throw notFound('Category');
  if (input.translations) {
    assertTranslationsRemain(
      locales.map((t) => t.locale),
      input.translations,
    );
  }
  await assertParentExists(db, input.parent_id);
  if (input.parent_id) {
    const row = await db
      .select({ cycle: wouldCycle(id, input.parent_id).mapWith(Number) })
      .from(categories)
      .where(eq(categories.id, id))
      .get();
    if (row?.cycle) throw cycle();
  }
  await assertHandleFree(db, handleOf, 'category', input.handle, id);
  return before;
}

export async function updateCategory(
  env: Env,
  caller: Caller,
  id: string,
  input: UpdateCategoryInput,
  fields: string[],
): Promise<AdminCategory> {
  const db = createDb(env.DB);
  const before = await checkUpdate(db, id, input);
  const updatedAt = new Date();
  const after = applyPatch(before, {
    parentId: input.parent_id,
    position: input.position,
    handle: input.handle,
    updatedAt,
  });
  const handle = input.handle ?? sql`${categories.handle}`;
  // Products show the names and handles of the categories they are directly in; never their parents or order.
  const namesChange = input.translations !== undefined || input.handle !== undefined;
  await commit(db, caller, {
    statements: [
      db
        .update(categories)
        .set({
          parentId: input.parent_id,
          position: input.position,
          // A move that would close a loop writes NULL into the NOT NULL handle, which fails the whole batch.
          handle: input.parent_id
            ? sql`CASE WHEN ${wouldCycle(id, input.parent_id)} THEN NULL ELSE ${handle} END`
            : input.handle,
          updatedAt,
        })
        .where(eq(categories.id, id)),
      ...(input.translations
        ? translationPatchStatements(db, translations, id, input.translations, translationRow(id))
        : []),
      // A move gives the whole subtree other ancestors, in steps when it holds more products than one
      // (storefront/rebuild.ts).
      ...(namesChange ? refreshStorefront(db, { category: id }) : []),
      ...(input.parent_id !== undefined
        ? startStorefrontRebuild(db, { category: id }, rebuildChunk(env))
        : []),
    ],
    audit: {
      action: 'category.update',
      targetType: 'category',
      targetId: id,
      changes: auditChanges(categories, fields, before, after),
    },
    events: [{ type: 'category.updated', aggregateType: 'category', aggregateId: id, payload: { id } }],
    recheck: async () => {
      await checkUpdate(db, id, input);
    },
    versions: CatalogVersionBump.category(db, id, namesChange),
  });
  return getCategory(db, id);
}

/** The category as it is before the delete, once the delete is known to be allowed. */
async function checkDelete(db: Database, id: string): Promise<CategoryRow> {
  const [found, child] = await db.batch([
    db.select().from(categories).where(eq(categories.id, id)),
    db.select({ id: categories.id }).from(categories).where(eq(categories.parentId, id)).limit(1),
  ]);
  const before = found[0];
  if (!before) throw notFound('Category');
  if (child.length > 0) {
    throw conflict('category_has_children', 'Move or delete the subcategories of this category first.');
  }
  return before;
}

export async function deleteCategory(env: Env, caller: Caller, id: string): Promise<void> {
  const db = createDb(env.DB);
  const before = await checkDelete(db, id);
  // The parent_id foreign key restricts deletes, so a child added since the check fails the delete.
  const remove = db.delete(categories).where(eq(categories.id, id)).returning({ id: categories.id });
  const results = await commit(db, caller, {
    conditional: true,
    // Before the conditional delete, which must stay last: its products' documents without it, and their
    // entries (in its lanes and its ancestors') and full-text rows in steps when they are many, then its lanes
    // (rebuild.ts).
    statements: [
      ...refreshStorefront(db, { leavingCategory: id }),
      ...startDeletedListRebuild(db, { category: id }, rebuildChunk(env)),
      remove,
    ],
    audit: {
      action: 'category.delete',
      targetType: 'category',
      targetId: id,
      changes: auditChanges(categories, [], before, null),
    },
    events: [{ type: 'category.deleted', aggregateType: 'category', aggregateId: id, payload: { id } }],
    recheck: async () => {
      await checkDelete(db, id);
    },
    // Its products' pages lose it.
    versions: CatalogVersionBump.category(db, id, true),
  });
  const deleted = results.at(-1) as Awaited<typeof remove>;
  if (deleted.length === 0) throw notFound('Category');
}
