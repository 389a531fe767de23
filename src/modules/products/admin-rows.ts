/**
 * The insert statements a product write is made of, each chunked under D1's bound-parameter limit. Create,
 * update and the variant endpoints compose them into one atomic batch.
 */
import { sql } from 'drizzle-orm';
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

/** Inserts the given locales, replacing those that exist. */
export function upsertTranslations(
  db: Database,
  productId: string,
  translations: Record<string, Translation>,
): Statement[] {
  const rows = Object.entries(translations).map(([locale, t]) => ({
    productId,
    locale,
    title: t.title,
    description: t.description,
    seoTitle: t.seo_title,
    seoDescription: t.seo_description,
  }));
  return chunkRows(productTranslations, rows).map((chunk) =>
    db
      .insert(productTranslations)
      .values(chunk)
      .onConflictDoUpdate({
        target: [productTranslations.productId, productTranslations.locale],
        set: {
          title: sql`excluded.title`,
          description: sql`excluded.description`,
          seoTitle: sql`excluded.seo_title`,
          seoDescription: sql`excluded.seo_description`,
        },
      }),
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

/** Inserts variants, with their prices, at positions from `firstPosition` on. */
export function insertVariants(
  db: Database,
  productId: string,
  list: { id: string; input: CreateVariantInput }[],
  firstPosition: number,
  now: Date,
): Statement[] {
  const rows = list.map(({ id, input }, index) => ({
    id,
    productId,
    sku: input.sku,
    title: input.title,
    options: input.options,
    weightGrams: input.weight_grams,
    barcode: input.barcode,
    position: firstPosition + index,
    createdAt: now,
    updatedAt: now,
  }));
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
