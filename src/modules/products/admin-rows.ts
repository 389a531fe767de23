/**
 * The insert statements a product write is made of, each chunked under D1's bound-parameter limit. Create,
 * update and the variant endpoints compose them into one atomic batch.
 */
import type { BatchItem } from 'drizzle-orm/batch';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import {
  prices,
  productCategories,
  productCollections,
  productImages,
  productOptions,
  productTranslations,
  variants,
} from '../../db/schema';
import { upsertTranslations as upsertTranslationRows } from '../../lib/catalog-fields';
import { chunkRows } from '../../lib/d1-writes';
import type { Database } from '../../lib/db';
import { newId } from '../../lib/ids';
import type { CreateProductInput } from './admin-schemas';
import type { CreateVariantInput, PriceInput } from './admin-variant-schemas';

type Statement = BatchItem<'sqlite'>;
type Translation = CreateProductInput['translations'][string];

function inserts<T extends SQLiteTable>(db: Database, table: T, rows: T['$inferInsert'][]): Statement[] {
  return chunkRows(table, rows).map((chunk) => db.insert(table).values(chunk));
}

export const translations = {
  table: productTranslations,
  owner: productTranslations.productId,
  locale: productTranslations.locale,
};

/** The translation row of `productId` in `locale`. */
export const translationRow =
  (productId: string) =>
  (locale: string, t: Translation): typeof productTranslations.$inferInsert => ({
    productId,
    locale,
    title: t.title,
    description: t.description,
    seoTitle: t.seo_title,
    seoDescription: t.seo_description,
  });

/** Inserts the given locales, replacing those that exist. */
export function upsertTranslations(
  db: Database,
  productId: string,
  map: Record<string, Translation>,
): Statement[] {
  const toRow = translationRow(productId);
  return upsertTranslationRows(
    db,
    translations,
    Object.entries(map).map(([locale, t]) => toRow(locale, t)),
  );
}

export function insertOptions(db: Database, productId: string, names: string[]): Statement[] {
  const rows = names.map((name, position) => ({ id: newId('opt'), productId, name, position }));
  return inserts(db, productOptions, rows);
}

export function insertPrices(db: Database, variantId: string, list: PriceInput[]): Statement[] {
  const rows = list.map((p) => ({ variantId, currencyCode: p.currency, amount: p.amount }));
  return inserts(db, prices, rows);
}

export type VariantRow = typeof variants.$inferSelect;

/** The row a new variant is stored as. */
export function variantRow(
  productId: string,
  id: string,
  input: CreateVariantInput,
  position: number,
  now: Date,
): VariantRow {
  return {
    id,
    productId,
    sku: input.sku,
    title: input.title,
    options: input.options,
    weightGrams: input.weight_grams,
    barcode: input.barcode,
    position,
    createdAt: now,
    updatedAt: now,
  };
}

/** Inserts variants, with their prices, at positions from `firstPosition` on. */
export function insertVariants(
  db: Database,
  productId: string,
  list: { id: string; input: CreateVariantInput }[],
  firstPosition: number,
  now: Date,
): Statement[] {
  const rows = list.map(({ id, input }, index) =>
    variantRow(productId, id, input, firstPosition + index, now),
  );
  return [
    ...inserts(db, variants, rows),
    ...list.flatMap(({ id, input }) => insertPrices(db, id, input.prices)),
  ];
}

export function insertCategoryLinks(db: Database, productId: string, ids: string[]): Statement[] {
  return inserts(
    db,
    productCategories,
    ids.map((categoryId) => ({ productId, categoryId })),
  );
}

export function insertCollectionLinks(db: Database, productId: string, ids: string[]): Statement[] {
  return inserts(
    db,
    productCollections,
    ids.map((collectionId) => ({ productId, collectionId })),
  );
}

export function insertImages(
  db: Database,
  productId: string,
  images: CreateProductInput['images'],
): Statement[] {
  const rows = images.map((image, position) => ({
    id: newId('img'),
    productId,
    url: image.url,
    alt: image.alt,
    position,
  }));
  return inserts(db, productImages, rows);
}
