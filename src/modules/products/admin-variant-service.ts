/**
 * Variant and price writes. A variant's option values must name exactly its product's options, and no two
 * variants of a product may carry the same values; prices follow the same currency rule as product creation.
 */
import { and, asc, eq, max, ne } from 'drizzle-orm';
import { prices, productOptions, variants } from '../../db/schema';
import { bumpCatalogVersion } from '../../lib/catalog-version';
import { commitChecked } from '../../lib/d1-writes';
import { createDb, type Database } from '../../lib/db';
import { AppError, notFound } from '../../lib/errors';
import { newId } from '../../lib/ids';
import {
  assertCurrenciesSold,
  assertProductExists,
  assertSkusFree,
  variantOptionsTaken,
} from './admin-checks';
import { optionsKey, optionsMismatch } from './admin-options';
import { getVariant } from './admin-read';
import * as rows from './admin-rows';
import type {
  AdminVariant,
  CreateVariantInput,
  PriceInput,
  UpdateVariantInput,
} from './admin-variant-schemas';

const pricePointers = (list: PriceInput[]) =>
  list.map((p, i) => ({ pointer: `/body/prices/${i}/currency`, value: p.currency }));

/** 422 unless `values` fit the product's options; 409 if another variant already has them. */
async function assertOptionsFit(
  db: Database,
  productId: string,
  values: Record<string, string>,
  exceptVariantId?: string,
): Promise<void> {
  const [optionRows, siblings] = await db.batch([
    db
      .select({ name: productOptions.name })
      .from(productOptions)
      .where(eq(productOptions.productId, productId))
      .orderBy(asc(productOptions.position)),
    db
      .select({ options: variants.options })
      .from(variants)
      .where(
        exceptVariantId === undefined
          ? eq(variants.productId, productId)
          : and(eq(variants.productId, productId), ne(variants.id, exceptVariantId)),
      ),
  ]);
  const mismatch = optionsMismatch(
    optionRows.map((o) => o.name),
    values,
  );
  if (mismatch) {
    throw new AppError(422, 'validation_failed', 'The variant options do not match the product.', {
      errors: [{ pointer: '/body/options', message: mismatch }],
    });
  }
  const key = optionsKey(values);
  if (siblings.some((s) => optionsKey(s.options) === key)) throw variantOptionsTaken();
}

async function checkCreate(db: Database, productId: string, input: CreateVariantInput): Promise<void> {
  await assertProductExists(db, productId);
  await assertCurrenciesSold(db, pricePointers(input.prices));
  await assertOptionsFit(db, productId, input.options);
  await assertSkusFree(db, [{ pointer: '/body/sku', value: input.sku }]);
}

export async function createVariant(
  env: Env,
  productId: string,
  input: CreateVariantInput,
): Promise<AdminVariant> {
  const db = createDb(env.DB);
  await checkCreate(db, productId, input);
  const last = await db
    .select({ position: max(variants.position) })
    .from(variants)
    .where(eq(variants.productId, productId))
    .get();
  const id = newId('var');
  const statements = rows.insertVariants(
    db,
    productId,
    [{ id, input }],
    (last?.position ?? -1) + 1,
    new Date(),
  );
  await commitChecked(db, statements, () => checkCreate(db, productId, input));
  await bumpCatalogVersion(env.KV);
  return getVariant(db, id);
}

async function findVariant(db: Database, id: string) {
  const row = await db
    .select({ id: variants.id, productId: variants.productId })
    .from(variants)
    .where(eq(variants.id, id))
    .get();
  if (!row) throw notFound('Variant');
  return row;
}

async function checkUpdate(db: Database, id: string, input: UpdateVariantInput) {
  const variant = await findVariant(db, id);
  if (input.options) await assertOptionsFit(db, variant.productId, input.options, id);
  if (input.sku !== undefined) await assertSkusFree(db, [{ pointer: '/body/sku', value: input.sku }], id);
}

export async function updateVariant(env: Env, id: string, input: UpdateVariantInput): Promise<AdminVariant> {
  const db = createDb(env.DB);
  await checkUpdate(db, id, input);
  const statement = db
    .update(variants)
    .set({
      sku: input.sku,
      title: input.title,
      options: input.options,
      weightGrams: input.weight_grams,
      barcode: input.barcode,
      position: input.position,
      updatedAt: new Date(),
    })
    .where(eq(variants.id, id));
  await commitChecked(db, [statement], () => checkUpdate(db, id, input));
  await bumpCatalogVersion(env.KV);
  return getVariant(db, id);
}

export async function deleteVariant(env: Env, id: string): Promise<void> {
  const db = createDb(env.DB);
  const deleted = await db.delete(variants).where(eq(variants.id, id)).returning({ id: variants.id });
  if (deleted.length === 0) throw notFound('Variant');
  await bumpCatalogVersion(env.KV);
}

async function checkPrices(db: Database, id: string, list: PriceInput[]) {
  await findVariant(db, id);
  await assertCurrenciesSold(db, pricePointers(list));
}

export async function replacePrices(env: Env, id: string, list: PriceInput[]): Promise<AdminVariant> {
  const db = createDb(env.DB);
  await checkPrices(db, id, list);
  const statements = [
    db.update(variants).set({ updatedAt: new Date() }).where(eq(variants.id, id)),
    db.delete(prices).where(eq(prices.variantId, id)),
    ...rows.insertPrices(db, id, list),
  ];
  await commitChecked(db, statements, () => checkPrices(db, id, list));
  await bumpCatalogVersion(env.KV);
  return getVariant(db, id);
}
