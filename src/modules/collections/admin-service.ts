/**
 * Collection writes: a handle, translations and a hand-picked list of products, replaced as a whole.
 *
 * Events (aggregate `collection`, payload `{ id }`): collection.created, collection.updated (its product list
 * too), collection.deleted.
 */
import { eq } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { collections, collectionTranslations, productCollections, products } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import {
  assertHandleFree,
  assertTranslationsRemain,
  pointersTo,
  type TranslationTable,
  translationPatchStatements,
  unknownReferences,
  upsertTranslations,
} from '../../lib/catalog-fields';
import { CatalogVersionBump } from '../../lib/catalog-version-bumps';
import { commit } from '../../lib/commit';
import { chunkRows, missingIds } from '../../lib/d1-writes';
import { createDb, type Database } from '../../lib/db';
import { notFound } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { applyPatch, auditChanges } from '../../lib/row-changes';
import { refreshStorefront } from '../storefront/projection';
import { rebuildChunk, startDeletedListRebuild, startStorefrontRebuild } from '../storefront/rebuild';
import { getCollection } from './admin-read';
import type { AdminCollection, CreateCollectionInput, UpdateCollectionInput } from './admin-schemas';

type CollectionRow = typeof collections.$inferSelect;
type Translation = CreateCollectionInput['translations'][string];

const translations: TranslationTable<typeof collectionTranslations> = {
  table: collectionTranslations,
  owner: collectionTranslations.collectionId,
  locale: collectionTranslations.locale,
};
const translationRow = (collectionId: string) => (locale: string, t: Translation) => ({
  collectionId,
  locale,
  ...t,
});

const handleOf = { handle: collections.handle, id: collections.id };

async function assertProductsExist(db: Database, productIds: string[] | undefined) {
  if (!productIds) return;
  const missing = await missingIds(db, products.id, productIds);
  if (missing.size > 0) throw unknownReferences(pointersTo('product_ids', productIds, missing, 'product'));
}

function insertLinks(db: Database, collectionId: string, productIds: string[]): BatchItem<'sqlite'>[] {
  const rows = productIds.map((productId) => ({ productId, collectionId }));
  return chunkRows(productCollections, rows).map((chunk) => db.insert(productCollections).values(chunk));
}

async function checkCreate(db: Database, input: CreateCollectionInput) {
  await assertProductsExist(db, input.product_ids);
  await assertHandleFree(db, handleOf, 'collection', input.handle);
}

export async function createCollection(
  env: Env,
  caller: Caller,
  input: CreateCollectionInput,
  fields: string[],
): Promise<AdminCollection> {
  const db = createDb(env.DB);
  await checkCreate(db, input);
  const id = newId('col');
  const now = new Date();
  const row: CollectionRow = { id, handle: input.handle, createdAt: now, updatedAt: now };
  await commit(db, caller, {
    statements: [
      db.insert(collections).values(row),
      ...upsertTranslations(
        db,
        translations,
        Object.entries(input.translations).map(([locale, t]) => translationRow(id)(locale, t)),
      ),
      ...insertLinks(db, id, input.product_ids),
      ...refreshStorefront(db, { collection: id }),
    ],
    audit: {
      action: 'collection.create',
      targetType: 'collection',
      targetId: id,
      changes: auditChanges(collections, fields, null, row),
    },
    events: [{ type: 'collection.created', aggregateType: 'collection', aggregateId: id, payload: { id } }],
    recheck: () => checkCreate(db, input),
    versions: CatalogVersionBump.collection(db, id, { namesChange: true, productIds: input.product_ids }),
  });
  return getCollection(db, id);
}

/** The collection as it is before the update, once the update is known to be allowed. */
async function checkUpdate(db: Database, id: string, input: UpdateCollectionInput): Promise<CollectionRow> {
  const [found, locales] = await db.batch([
    db.select().from(collections).where(eq(collections.id, id)),
    db
      .select({ locale: collectionTranslations.locale })
      .from(collectionTranslations)
      .where(eq(collectionTranslations.collectionId, id)),
  ]);
  const before = found[0];
  if (!before) throw notFound('Collection');
  if (input.translations) {
    assertTranslationsRemain(
      locales.map((t) => t.locale),
      input.translations,
    );
  }
  await assertProductsExist(db, input.product_ids);
  await assertHandleFree(db, handleOf, 'collection', input.handle, id);
  return before;
}

export async function updateCollection(
  env: Env,
  caller: Caller,
  id: string,
  input: UpdateCollectionInput,
  fields: string[],
): Promise<AdminCollection> {
  const db = createDb(env.DB);
  const before = await checkUpdate(db, id, input);
  const patch = { handle: input.handle, updatedAt: new Date() };
  const statements: BatchItem<'sqlite'>[] = [db.update(collections).set(patch).where(eq(collections.id, id))];
  if (input.translations) {
    statements.push(
      ...translationPatchStatements(db, translations, id, input.translations, translationRow(id)),
    );
  }
  if (input.product_ids) {
    statements.push(
      // The products leaving the list cannot be found once it is replaced: their documents are rebuilt first.
      ...refreshStorefront(db, { leavingCollection: id, keeping: input.product_ids }),
      db.delete(productCollections).where(eq(productCollections.collectionId, id)),
      ...insertLinks(db, id, input.product_ids),
      // The lanes of the products it lists now and listed before, in steps when they are many (rebuild.ts).
      ...startStorefrontRebuild(db, { collection: id }, rebuildChunk(env)),
    );
  }
  // Names, a handle and the product list are all in the documents of the products it lists.
  statements.push(...refreshStorefront(db, { collectionDocuments: id }));
  await commit(db, caller, {
    statements,
    audit: {
      action: 'collection.update',
      targetType: 'collection',
      targetId: id,
      changes: auditChanges(collections, fields, before, applyPatch(before, patch)),
    },
    events: [{ type: 'collection.updated', aggregateType: 'collection', aggregateId: id, payload: { id } }],
    recheck: async () => {
      await checkUpdate(db, id, input);
    },
    versions: CatalogVersionBump.collection(db, id, {
      namesChange: input.translations !== undefined || input.handle !== undefined,
      productIds: input.product_ids,
    }),
  });
  return getCollection(db, id);
}

export async function deleteCollection(env: Env, caller: Caller, id: string): Promise<void> {
  const db = createDb(env.DB);
  const before = await db.select().from(collections).where(eq(collections.id, id)).get();
  if (!before) throw notFound('Collection');
  const remove = db.delete(collections).where(eq(collections.id, id)).returning({ id: collections.id });
  const results = await commit(db, caller, {
    conditional: true,
    // Before the conditional delete, which must stay last: its products' documents without it, and their
    // entries in its lanes and full-text rows (which name it) in steps when they are many, then its lanes
    // (rebuild.ts).
    statements: [
      ...refreshStorefront(db, { leavingCollection: id }),
      ...startDeletedListRebuild(db, { collection: id }, rebuildChunk(env)),
      remove,
    ],
    audit: {
      action: 'collection.delete',
      targetType: 'collection',
      targetId: id,
      changes: auditChanges(collections, [], before, null),
    },
    events: [{ type: 'collection.deleted', aggregateType: 'collection', aggregateId: id, payload: { id } }],
    versions: CatalogVersionBump.collection(db, id, { namesChange: true }),
  });
  const deleted = results.at(-1) as Awaited<typeof remove>;
  if (deleted.length === 0) throw notFound('Collection');
}
