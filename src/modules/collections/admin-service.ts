/** Collection writes: a handle, translations and a hand-picked list of products, replaced as a whole. */
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { collections, collectionTranslations, productCollections, products } from '../../db/schema';
import {
  assertTranslationsRemain,
  pointersTo,
  splitTranslationPatch,
  unknownReferences,
} from '../../lib/catalog-fields';
import { bumpCatalogVersion } from '../../lib/catalog-version';
import { chunkRows, commitChecked, missingIds, valueTaken } from '../../lib/d1-writes';
import { createDb, type Database } from '../../lib/db';
import { AppError, notFound } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { getCollection } from './admin-read';
import type { AdminCollection, CreateCollectionInput, UpdateCollectionInput } from './admin-schemas';

type Translation = CreateCollectionInput['translations'][string];

async function assertProductsExist(db: Database, productIds: string[] | undefined) {
  if (!productIds) return;
  const missing = await missingIds(db, products.id, productIds);
  if (missing.size > 0) throw unknownReferences(pointersTo('product_ids', productIds, missing, 'product'));
}

async function assertHandleFree(db: Database, handle: string | undefined, exceptId?: string) {
  if (handle !== undefined && (await valueTaken(db, collections.handle, handle, collections.id, exceptId))) {
    throw new AppError(409, 'handle_taken', `Another collection already has the handle "${handle}".`, {
      errors: [{ pointer: '/body/handle', message: 'Choose another handle' }],
    });
  }
}

function upsertTranslations(db: Database, collectionId: string, map: Record<string, Translation>) {
  const rows = Object.entries(map).map(([locale, t]) => ({ collectionId, locale, ...t }));
  return chunkRows(collectionTranslations, rows).map((chunk) =>
    db
      .insert(collectionTranslations)
      .values(chunk)
      .onConflictDoUpdate({
        target: [collectionTranslations.collectionId, collectionTranslations.locale],
        set: { title: sql`excluded.title`, description: sql`excluded.description` },
      }),
  );
}

function insertLinks(db: Database, collectionId: string, productIds: string[]): BatchItem<'sqlite'>[] {
  const rows = productIds.map((productId) => ({ productId, collectionId }));
  return chunkRows(productCollections, rows).map((chunk) => db.insert(productCollections).values(chunk));
}

async function checkCreate(db: Database, input: CreateCollectionInput) {
  await assertProductsExist(db, input.product_ids);
  await assertHandleFree(db, input.handle);
}

export async function createCollection(env: Env, input: CreateCollectionInput): Promise<AdminCollection> {
  const db = createDb(env.DB);
  await checkCreate(db, input);
  const id = newId('col');
  const now = new Date();
  await commitChecked(
    db,
    [
      db.insert(collections).values({ id, handle: input.handle, createdAt: now, updatedAt: now }),
      ...upsertTranslations(db, id, input.translations),
      ...insertLinks(db, id, input.product_ids),
    ],
    () => checkCreate(db, input),
  );
  await bumpCatalogVersion(env.KV);
  return getCollection(db, id);
}

async function checkUpdate(db: Database, id: string, input: UpdateCollectionInput) {
  const [found, translations] = await db.batch([
    db.select({ id: collections.id }).from(collections).where(eq(collections.id, id)),
    db
      .select({ locale: collectionTranslations.locale })
      .from(collectionTranslations)
      .where(eq(collectionTranslations.collectionId, id)),
  ]);
  if (found.length === 0) throw notFound('Collection');
  if (input.translations) {
    assertTranslationsRemain(
      translations.map((t) => t.locale),
      input.translations,
    );
  }
  await assertProductsExist(db, input.product_ids);
  await assertHandleFree(db, input.handle, id);
}

export async function updateCollection(
  env: Env,
  id: string,
  input: UpdateCollectionInput,
): Promise<AdminCollection> {
  const db = createDb(env.DB);
  await checkUpdate(db, id, input);
  const statements: BatchItem<'sqlite'>[] = [
    db.update(collections).set({ handle: input.handle, updatedAt: new Date() }).where(eq(collections.id, id)),
  ];
  if (input.translations) {
    const { removed, upserted } = splitTranslationPatch(input.translations);
    if (removed.length > 0) {
      statements.push(
        db
          .delete(collectionTranslations)
          .where(
            and(eq(collectionTranslations.collectionId, id), inArray(collectionTranslations.locale, removed)),
          ),
      );
    }
    statements.push(...upsertTranslations(db, id, upserted));
  }
  if (input.product_ids) {
    statements.push(
      db.delete(productCollections).where(eq(productCollections.collectionId, id)),
      ...insertLinks(db, id, input.product_ids),
    );
  }
  await commitChecked(db, statements, () => checkUpdate(db, id, input));
  await bumpCatalogVersion(env.KV);
  return getCollection(db, id);
}

export async function deleteCollection(env: Env, id: string): Promise<void> {
  const db = createDb(env.DB);
  const deleted = await db
    .delete(collections)
    .where(eq(collections.id, id))
    .returning({ id: collections.id });
  if (deleted.length === 0) throw notFound('Collection');
  await bumpCatalogVersion(env.KV);
}
