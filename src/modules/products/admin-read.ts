/**
 * Reads the full admin representation of products: every translation, option, variant with all its prices,
 * category and collection link, and image. A page of products costs one D1 round trip (one batch of reads).
 */
import { and, asc, eq, exists, inArray, or, type SQL, sql } from 'drizzle-orm';
import {
  prices,
  productCategories,
  productCollections,
  productImages,
  productOptions,
  products,
  productTranslations,
  variants,
} from '../../db/schema';
import { iso } from '../../lib/catalog-fields';
import type { Database } from '../../lib/db';
import { notFound } from '../../lib/errors';
import { afterCursor, paginate } from '../../lib/pagination';
import type { AdminProduct } from './admin-schemas';
import type { AdminVariant } from './admin-variant-schemas';

const SORT = 'id';

type VariantRow = typeof variants.$inferSelect;
type PriceRow = typeof prices.$inferSelect;

function groupBy<T>(rows: T[], keyOf: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const key = keyOf(row);
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return groups;
}

export function serializeVariant(row: VariantRow, priceRows: PriceRow[]): AdminVariant {
  return {
    id: row.id,
    product_id: row.productId,
    sku: row.sku,
    title: row.title,
    options: row.options,
    weight_grams: row.weightGrams,
    barcode: row.barcode,
    position: row.position,
    prices: priceRows
      .map((p) => ({ currency: p.currencyCode, amount: p.amount }))
      .sort((a, b) => a.currency.localeCompare(b.currency)),
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
  };
}

export function serializeProduct(
  product: typeof products.$inferSelect,
  parts: {
    translations: (typeof productTranslations.$inferSelect)[];
    options: (typeof productOptions.$inferSelect)[];
    variants: AdminVariant[];
    categoryIds: string[];
    collectionIds: string[];
    images: (typeof productImages.$inferSelect)[];
  },
): AdminProduct {
  return {
    id: product.id,
    handle: product.handle,
    status: product.status,
    translations: Object.fromEntries(
      [...parts.translations]
        .sort((a, b) => a.locale.localeCompare(b.locale))
        .map((t) => [
          t.locale,
          {
            title: t.title,
            description: t.description,
            seo_title: t.seoTitle,
            seo_description: t.seoDescription,
          },
        ]),
    ),
    options: parts.options.map((o) => ({ id: o.id, name: o.name, position: o.position })),
    variants: parts.variants,
    category_ids: [...parts.categoryIds].sort(),
    collection_ids: [...parts.collectionIds].sort(),
    images: parts.images.map((i) => ({ id: i.id, url: i.url, alt: i.alt, position: i.position })),
    created_at: iso(product.createdAt),
    updated_at: iso(product.updatedAt),
  };
}

/** The products with `ids` (at most 100), in the order of `ids`; missing ones are left out. */
export async function loadProducts(db: Database, ids: string[]): Promise<AdminProduct[]> {
  if (ids.length === 0) return [];
  const [
    productRows,
    translationRows,
    optionRows,
    variantRows,
    priceRows,
    categoryRows,
    collectionRows,
    imageRows,
  ] = await db.batch([
    db.select().from(products).where(inArray(products.id, ids)),
    db.select().from(productTranslations).where(inArray(productTranslations.productId, ids)),
    db
      .select()
      .from(productOptions)
      .where(inArray(productOptions.productId, ids))
      .orderBy(asc(productOptions.position)),
    db
      .select()
      .from(variants)
      .where(inArray(variants.productId, ids))
      .orderBy(asc(variants.position), asc(variants.id)),
    db
      .select({ variantId: prices.variantId, currencyCode: prices.currencyCode, amount: prices.amount })
      .from(prices)
      .innerJoin(variants, eq(variants.id, prices.variantId))
      .where(inArray(variants.productId, ids)),
    db.select().from(productCategories).where(inArray(productCategories.productId, ids)),
    db.select().from(productCollections).where(inArray(productCollections.productId, ids)),
    db
      .select()
      .from(productImages)
      .where(inArray(productImages.productId, ids))
      .orderBy(asc(productImages.position)),
  ]);
  const translations = groupBy(translationRows, (r) => r.productId);
  const options = groupBy(optionRows, (r) => r.productId);
  const variantsOf = groupBy(variantRows, (r) => r.productId);
  const pricesOf = groupBy(priceRows, (r) => r.variantId);
  const categoriesOf = groupBy(categoryRows, (r) => r.productId);
  const collectionsOf = groupBy(collectionRows, (r) => r.productId);
  const imagesOf = groupBy(imageRows, (r) => r.productId);
  const byId = new Map(productRows.map((p) => [p.id, p]));

  return ids.flatMap((id) => {
    const product = byId.get(id);
    if (!product) return [];
    return [
      serializeProduct(product, {
        translations: translations.get(id) ?? [],
        options: options.get(id) ?? [],
        variants: (variantsOf.get(id) ?? []).map((v) => serializeVariant(v, pricesOf.get(v.id) ?? [])),
        categoryIds: (categoriesOf.get(id) ?? []).map((r) => r.categoryId),
        collectionIds: (collectionsOf.get(id) ?? []).map((r) => r.collectionId),
        images: imagesOf.get(id) ?? [],
      }),
    ];
  });
}

export async function getProduct(db: Database, id: string): Promise<AdminProduct> {
  const [product] = await loadProducts(db, [id]);
  if (!product) throw notFound('Product');
  return product;
}

/** `LIKE` pattern matching `text` literally anywhere. */
function containing(text: string): string {
  return `%${text.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
}

export async function listProducts(
  db: Database,
  query: {
    limit: number;
    cursor?: string | undefined;
    status?: AdminProduct['status'] | undefined;
    q?: string | undefined;
  },
) {
  const conditions: (SQL | undefined)[] = [afterCursor(products.id, query.cursor, SORT)];
  if (query.status) conditions.push(eq(products.status, query.status));
  if (query.q) {
    const pattern = containing(query.q);
    conditions.push(
      or(
        sql`${products.handle} LIKE ${pattern} ESCAPE '\\'`,
        exists(
          db
            .select({ one: sql`1` })
            .from(productTranslations)
            .where(
              and(
                eq(productTranslations.productId, products.id),
                sql`${productTranslations.title} LIKE ${pattern} ESCAPE '\\'`,
              ),
            ),
        ),
      ),
    );
  }
  const rows = await db
    .select({ id: products.id })
    .from(products)
    .where(and(...conditions))
    .orderBy(asc(products.id))
    .limit(query.limit + 1);
  const page = paginate(rows, query.limit, SORT, (r) => [r.id]);
  return {
    data: await loadProducts(
      db,
      page.data.map((r) => r.id),
    ),
    page: page.page,
  };
}

export async function getVariant(db: Database, id: string): Promise<AdminVariant> {
  const [row, priceRows] = await db.batch([
    db.select().from(variants).where(eq(variants.id, id)),
    db.select().from(prices).where(eq(prices.variantId, id)),
  ]);
  const variant = row[0];
  if (!variant) throw notFound('Variant');
  return serializeVariant(variant, priceRows);
}
