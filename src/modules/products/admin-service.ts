/**
 * Product writes. Each one is checked up front, then committed with its audit entry, event and cache versions as
 * one atomic D1 batch, so no edge-cached page can show the old product once the write is visible.
 *
 * Events: a product with its translations, options, links, images, variants and prices is one aggregate
 * (`product`, payload `{ id }`): product.created, product.updated (archiving too), product.deleted. Variant and
 * price writes (admin-variant-service.ts) raise product.updated as well, with `variant_id` in the payload.
 */
import { eq } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import {
  productCategories,
  productCollections,
  productImages,
  products,
  productTranslations,
} from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { assertTranslationsRemain, translationPatchStatements } from '../../lib/catalog-fields';
import { CatalogVersionBump } from '../../lib/catalog-version-bumps';
import { commit } from '../../lib/commit';
import { createDb, type Database } from '../../lib/db';
import { notFound } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { applyPatch, auditChanges } from '../../lib/row-changes';
import { refreshStorefront } from '../storefront/projection';
import {
  assertCurrenciesSold,
  assertProductHandleFree,
  assertReferencesExist,
  assertSkusFree,
  findProduct,
  type ProductRow,
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
  await assertProductHandleFree(db, input.handle);
  await assertSkusFree(
    db,
    input.variants.map((v, i) => ({ pointer: `/body/variants/${i}/sku`, value: v.sku })),
  );
}

export async function createProduct(
  env: Env,
  caller: Caller,
  input: CreateProductInput,
  fields: string[],
): Promise<AdminProduct> {
  const db = createDb(env.DB);
  await checkCreate(db, input);
  const id = newId('prod');
  const now = new Date();
  const row: ProductRow = { id, handle: input.handle, status: input.status, createdAt: now, updatedAt: now };
  const statements: BatchItem<'sqlite'>[] = [
    db.insert(products).values(row),
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
    ...refreshStorefront(db, { products: [id] }),
  ];
  await commit(db, caller, {
    statements,
    audit: {
      action: 'product.create',
      targetType: 'product',
      targetId: id,
      changes: auditChanges(products, fields, null, row),
    },
    events: [{ type: 'product.created', aggregateType: 'product', aggregateId: id, payload: { id } }],
    recheck: () => checkCreate(db, input),
    versions: CatalogVersionBump.product(db, id, input.handle),
  });
  return getProduct(db, id);
}

/** The product as it is before the update, once the update is known to be allowed. */
async function checkUpdate(db: Database, id: string, input: UpdateProductInput): Promise<ProductRow> {
  const before = await findProduct(db, id);
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
  await assertProductHandleFree(db, input.handle, id);
  return before;
}

/** An update of the product, recorded as `action` (`product.update`, or `product.archive` for the shortcut). */
async function writeUpdate(
  env: Env,
  caller: Caller,
  id: string,
  input: UpdateProductInput,
  audit: { action: string; fields: string[] },
): Promise<AdminProduct> {
  const db = createDb(env.DB);
  const before = await checkUpdate(db, id, input);
  const patch = { handle: input.handle, status: input.status, updatedAt: new Date() };
  const statements: BatchItem<'sqlite'>[] = [db.update(products).set(patch).where(eq(products.id, id))];
  if (input.translations) {
    statements.push(
      ...translationPatchStatements(db, rows.translations, id, input.translations, rows.translationRow(id)),
    );
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
  statements.push(...refreshStorefront(db, { products: [id] }));
  await commit(db, caller, {
    statements,
    audit: {
      action: audit.action,
      targetType: 'product',
      targetId: id,
      changes: auditChanges(products, audit.fields, before, applyPatch(before, patch)),
    },
    events: [{ type: 'product.updated', aggregateType: 'product', aggregateId: id, payload: { id } }],
    recheck: async () => {
      await checkUpdate(db, id, input);
    },
    versions: CatalogVersionBump.product(db, id, input.handle),
  });
  return getProduct(db, id);
}

export function updateProduct(
  env: Env,
  caller: Caller,
  id: string,
  input: UpdateProductInput,
  fields: string[],
): Promise<AdminProduct> {
  return writeUpdate(env, caller, id, input, { action: 'product.update', fields });
}

export function archiveProduct(env: Env, caller: Caller, id: string): Promise<AdminProduct> {
  return writeUpdate(env, caller, id, { status: 'archived' }, { action: 'product.archive', fields: [] });
}

export async function deleteProduct(env: Env, caller: Caller, id: string): Promise<void> {
  const db = createDb(env.DB);
  const before = await findProduct(db, id);
  // The product's storefront rows go with it: their foreign keys cascade.
  const [deleted] = await commit(db, caller, {
    conditional: true,
    statements: [db.delete(products).where(eq(products.id, id)).returning({ id: products.id })],
    audit: {
      action: 'product.delete',
      targetType: 'product',
      targetId: id,
      changes: auditChanges(products, [], before, null),
    },
    events: [{ type: 'product.deleted', aggregateType: 'product', aggregateId: id, payload: { id } }],
    versions: CatalogVersionBump.product(db, id),
  });
  if (deleted.length === 0) throw notFound('Product');
}
