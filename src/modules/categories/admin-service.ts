/**
 * Category writes. Categories form a tree: a category can never become its own ancestor. The move is checked
 * up front for a clear answer, and guarded again inside the UPDATE itself, because two concurrent moves
 * (A under B, B under A) could each pass the check alone and together close a loop.
 */
import { and, eq, inArray, type SQL, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { categories, categoryTranslations } from '../../db/schema';
import { assertTranslationsRemain, splitTranslationPatch, unknownReferences } from '../../lib/catalog-fields';
import { bumpCatalogVersion } from '../../lib/catalog-version';
import { chunkRows, commitChecked, valueTaken } from '../../lib/d1-writes';
import { createDb, type Database } from '../../lib/db';
import { AppError, conflict, notFound } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { getCategory } from './admin-read';
import type { AdminCategory, CreateCategoryInput, UpdateCategoryInput } from './admin-schemas';

type Translation = CreateCategoryInput['translations'][string];

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

async function assertHandleFree(db: Database, handle: string | undefined, exceptId?: string) {
  if (handle !== undefined && (await valueTaken(db, categories.handle, handle, categories.id, exceptId))) {
    throw new AppError(409, 'handle_taken', `Another category already has the handle "${handle}".`, {
      errors: [{ pointer: '/body/handle', message: 'Choose another handle' }],
    });
  }
}

function upsertTranslations(db: Database, categoryId: string, map: Record<string, Translation>) {
  const rows = Object.entries(map).map(([locale, t]) => ({ categoryId, locale, ...t }));
  return chunkRows(categoryTranslations, rows).map((chunk) =>
    db
      .insert(categoryTranslations)
      .values(chunk)
      .onConflictDoUpdate({
        target: [categoryTranslations.categoryId, categoryTranslations.locale],
        set: { name: sql`excluded.name`, description: sql`excluded.description` },
      }),
  );
}

async function checkCreate(db: Database, input: CreateCategoryInput) {
  await assertParentExists(db, input.parent_id);
  await assertHandleFree(db, input.handle);
}

export async function createCategory(env: Env, input: CreateCategoryInput): Promise<AdminCategory> {
  const db = createDb(env.DB);
  await checkCreate(db, input);
  const id = newId('cat');
  const now = new Date();
  await commitChecked(
    db,
    [
      db.insert(categories).values({
        id,
        handle: input.handle,
        parentId: input.parent_id,
        position: input.position,
        createdAt: now,
        updatedAt: now,
      }),
      ...upsertTranslations(db, id, input.translations),
    ],
    () => checkCreate(db, input),
  );
  await bumpCatalogVersion(env.KV);
  return getCategory(db, id);
}

async function checkUpdate(db: Database, id: string, input: UpdateCategoryInput) {
  const [found, translations] = await db.batch([
    db.select({ id: categories.id }).from(categories).where(eq(categories.id, id)),
    db
      .select({ locale: categoryTranslations.locale })
      .from(categoryTranslations)
      .where(eq(categoryTranslations.categoryId, id)),
  ]);
  if (found.length === 0) throw notFound('Category');
  if (input.translations) {
    assertTranslationsRemain(
      translations.map((t) => t.locale),
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
  await assertHandleFree(db, input.handle, id);
}

export async function updateCategory(
  env: Env,
  id: string,
  input: UpdateCategoryInput,
): Promise<AdminCategory> {
  const db = createDb(env.DB);
  await checkUpdate(db, id, input);
  const handle = input.handle ?? sql`${categories.handle}`;
  const statements: BatchItem<'sqlite'>[] = [
    db
      .update(categories)
      .set({
        parentId: input.parent_id,
        position: input.position,
        // A move that would close a loop writes NULL into the NOT NULL handle, which fails the whole batch.
        handle: input.parent_id
          ? sql`CASE WHEN ${wouldCycle(id, input.parent_id)} THEN NULL ELSE ${handle} END`
          : input.handle,
        updatedAt: new Date(),
      })
      .where(eq(categories.id, id)),
  ];
  if (input.translations) {
    const { removed, upserted } = splitTranslationPatch(input.translations);
    if (removed.length > 0) {
      statements.push(
        db
          .delete(categoryTranslations)
          .where(and(eq(categoryTranslations.categoryId, id), inArray(categoryTranslations.locale, removed))),
      );
    }
    statements.push(...upsertTranslations(db, id, upserted));
  }
  await commitChecked(db, statements, () => checkUpdate(db, id, input));
  await bumpCatalogVersion(env.KV);
  return getCategory(db, id);
}

async function checkDelete(db: Database, id: string) {
  const [found, child] = await db.batch([
    db.select({ id: categories.id }).from(categories).where(eq(categories.id, id)),
    db.select({ id: categories.id }).from(categories).where(eq(categories.parentId, id)).limit(1),
  ]);
  if (found.length === 0) throw notFound('Category');
  if (child.length > 0) {
    throw conflict('category_has_children', 'Move or delete the subcategories of this category first.');
  }
}

export async function deleteCategory(env: Env, id: string): Promise<void> {
  const db = createDb(env.DB);
  await checkDelete(db, id);
  // The parent_id foreign key restricts deletes, so a child added since the check fails the delete.
  await commitChecked(db, [db.delete(categories).where(eq(categories.id, id))], () => checkDelete(db, id));
  await bumpCatalogVersion(env.KV);
}
