/**
 * Checks a product write must pass before its batch runs. 422s (the body names things that do not exist or
 * cannot be sold) come before 409s (the body collides with other records). They run again after a constraint
 * failure, to turn a lost race into the same answer.
 */
import { and, eq, inArray, ne } from 'drizzle-orm';
import { categories, collections, products, regions, variants } from '../../db/schema';
import { assertHandleFree, pointersTo, unknownReferences } from '../../lib/catalog-fields';
import { missingIds } from '../../lib/d1-writes';
import type { Database } from '../../lib/db';
import { AppError, type FieldError, notFound } from '../../lib/errors';

/** Something in the body to check, with the JSON pointer it is found at. */
export type Located<T> = { pointer: string; value: T };

export type ProductRow = typeof products.$inferSelect;

/** The product's own row; 404 when there is none. */
export async function findProduct(db: Database, id: string): Promise<ProductRow> {
  const row = await db.select().from(products).where(eq(products.id, id)).get();
  if (!row) throw notFound('Product');
  return row;
}

export async function assertProductExists(db: Database, id: string): Promise<void> {
  await findProduct(db, id);
}

export async function assertReferencesExist(
  db: Database,
  refs: { category_ids?: string[] | undefined; collection_ids?: string[] | undefined },
): Promise<void> {
  const categoryIds = refs.category_ids ?? [];
  const collectionIds = refs.collection_ids ?? [];
  const [missingCategories, missingCollections] = await Promise.all([
    missingIds(db, categories.id, categoryIds),
    missingIds(db, collections.id, collectionIds),
  ]);
  const errors = [
    ...pointersTo('category_ids', categoryIds, missingCategories, 'category'),
    ...pointersTo('collection_ids', collectionIds, missingCollections, 'collection'),
  ];
  if (errors.length > 0) throw unknownReferences(errors);
}

/** Every price must be in a currency some region sells in: a price nobody can pay in is a mistake. */
export async function assertCurrenciesSold(db: Database, currencies: Located<string>[]): Promise<void> {
  if (currencies.length === 0) return;
  // Regions are few, so reading every sold currency beats binding up to 159 codes (D1 binds at most 100).
  const sold = new Set(
    (await db.selectDistinct({ currency: regions.currencyCode }).from(regions)).map((r) => r.currency),
  );
  const errors: FieldError[] = currencies
    .filter((c) => !sold.has(c.value))
    .map((c) => ({ pointer: c.pointer, message: `No region sells in ${c.value}` }));
  if (errors.length > 0) {
    throw new AppError(422, 'currency_not_sold', 'Prices must be in a currency a region sells in.', {
      errors,
    });
  }
}

export function assertProductHandleFree(db: Database, handle: string | undefined, exceptId?: string) {
  return assertHandleFree(db, { handle: products.handle, id: products.id }, 'product', handle, exceptId);
}

export async function assertSkusFree(db: Database, skus: Located<string>[], exceptVariantId?: string) {
  if (skus.length === 0) return;
  const values = skus.map((s) => s.value);
  const taken = new Set(
    (
      await db
        .select({ sku: variants.sku })
        .from(variants)
        .where(
          exceptVariantId === undefined
            ? inArray(variants.sku, values)
            : and(inArray(variants.sku, values), ne(variants.id, exceptVariantId)),
        )
    ).map((r) => r.sku),
  );
  const errors = skus
    .filter((s) => taken.has(s.value))
    .map((s) => ({ pointer: s.pointer, message: `Another variant already has the SKU "${s.value}"` }));
  if (errors.length > 0) throw new AppError(409, 'sku_taken', 'SKUs must be unique.', { errors });
}

export const variantOptionsTaken = () =>
  new AppError(409, 'variant_options_taken', 'Another variant of this product has the same option values.', {
    errors: [{ pointer: '/body/options', message: 'Choose a combination no other variant has' }],
  });
