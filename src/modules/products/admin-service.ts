/**
 * Product writes. Each one is checked up front, committed as one atomic D1 batch, then the catalog version is
 * bumped so no edge-cached page can show the old product.
 */
import { and, eq, inArray } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import {
  productCategories,
  productCollections,
  productImages,
  products,
  productTranslations,
} from '../../db/schema';
import { assertTranslationsRemain, splitTranslationPatch } from '../../lib/catalog-fields';
import { bumpCatalogVersion } from '../../lib/catalog-version';
import { commitChecked } from '../../lib/d1-writes';
import { createDb, type Database } from '../../lib/db';
import { notFound } from '../../lib/errors';
import { newId } from '../../lib/ids';
import {
  assertCurrenciesSold,
  assertHandleFree,
  assertProductExists,
  assertReferencesExist,
  assertSkusFree,
} from './admin-checks';
import { getProduct } from './admin-read';
import * as rows from './admin-rows';
import type { AdminProduct, CreateProductInput, UpdateProductInput } from './admin-schemas';

async function checkCreate(db: Database, input: CreateProductInput): Promise<void> {
  await assertReferencesExist(db, input);
  await assertCurrenciesSold(
    db,
    input.variants.flatMap((v, i) =>
      v.prices.map((p, j) => ({ pointer: `/body/variants/${i}/prices/${j}/currency`, value: p.currency })),
    ),
  );
  await assertHandleFree(db, input.handle);
  await assertSkusFree(
    db,
    input.variants.map((v, i) => ({ pointer: `/body/variants/${i}/sku`, value: v.sku })),
  );
}

export async function createProduct(env: Env, input: CreateProductInput): Promise<AdminProduct> {
  const db = createDb(env.DB);
  await checkCreate(db, input);
  const id = newId('prod');
  const now = new Date();
  const statements: BatchItem<'sqlite'>[] = [
    db
      .insert(products)
      .values({ id, handle: input.handle, status: input.status, createdAt: now, updatedAt: now }),
    ...rows.upsertTranslations(db, id, input.translations),
    ...rows.insertOptions(
      db,
      id,
      input.options.map((o) => o.name),
    ),
    ...rows.insertVariants(
      db,
      id,
      input.variants.map((v) => ({ id: newId('var'), input: v })),
      0,
      now,
    ),
    ...rows.insertCategoryLinks(db, id, input.category_ids),
    ...rows.insertCollectionLinks(db, id, input.collection_ids),
    ...rows.insertImages(db, id, input.images),
  ];
  await commitChecked(db, statements, () => checkCreate(db, input));
  await bumpCatalogVersion(env.KV);
  return getProduct(db, id);
}

async function checkUpdate(db: Database, id: string, input: UpdateProductInput): Promise<void> {
  await assertProductExists(db, id);
  await assertReferencesExist(db, input);
  if (input.translations) {
    const existing = await db
      .select({ locale: productTranslations.locale })
      .from(productTranslations)
      .where(eq(productTranslations.productId, id));
    assertTranslationsRemain(
      existing.map((t) => t.locale),
      input.translations,
    );
  }
  if (input.handle !== undefined) await assertHandleFree(db, input.handle, id);
}

export async function updateProduct(env: Env, id: string, input: UpdateProductInput): Promise<AdminProduct> {
  const db = createDb(env.DB);
  await checkUpdate(db, id, input);
  const statements: BatchItem<'sqlite'>[] = [
    db
      .update(products)
      .set({ handle: input.handle, status: input.status, updatedAt: new Date() })
      .where(eq(products.id, id)),
  ];
  if (input.translations) {
    const { removed, upserted } = splitTranslationPatch(input.translations);
    if (removed.length > 0) {
      statements.push(
        db
          .delete(productTranslations)
          .where(and(eq(productTranslations.productId, id), inArray(productTranslations.locale, removed))),
      );
    }
    statements.push(...rows.upsertTranslations(db, id, upserted));
  }
  if (input.category_ids) {
    statements.push(
      db.delete(productCategories).where(eq(productCategories.productId, id)),
      ...rows.insertCategoryLinks(db, id, input.category_ids),
    );
  }
  if (input.collection_ids) {
    statements.push(
      db.delete(productCollections).where(eq(productCollections.productId, id)),
      ...rows.insertCollectionLinks(db, id, input.collection_ids),
    );
  }
  if (input.images) {
    statements.push(
      db.delete(productImages).where(eq(productImages.productId, id)),
      ...rows.insertImages(db, id, input.images),
    );
  }
  await commitChecked(db, statements, () => checkUpdate(db, id, input));
  await bumpCatalogVersion(env.KV);
  return getProduct(db, id);
}

export async function deleteProduct(env: Env, id: string): Promise<void> {
  const db = createDb(env.DB);
  const deleted = await db.delete(products).where(eq(products.id, id)).returning({ id: products.id });
  if (deleted.length === 0) throw notFound('Product');
  await bumpCatalogVersion(env.KV);
}

export function archiveProduct(env: Env, id: string): Promise<AdminProduct> {
  return updateProduct(env, id, { status: 'archived' });
}
