/**
 * Catalog tables: regions (where and how we sell), products with translations, options, variants,
 * prices per currency, categories (a tree), collections and images.
 * Money is stored as integer minor units; tax rates as basis points (1900 = 19%).
 */
import { sql } from 'drizzle-orm';
import {
  type AnySQLiteColumn,
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from 'drizzle-orm/sqlite-core';

const timestamps = {
  createdAt: integer('created_at', { mode: 'timestamp_ms' })
    .notNull()
    .default(sql`(unixepoch('subsec') * 1000)`),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' })
    .notNull()
    .default(sql`(unixepoch('subsec') * 1000)`),
};

export const regions = sqliteTable('regions', {
  id: text('id').primaryKey(),
  code: text('code').notNull().unique(),
  name: text('name').notNull(),
  currencyCode: text('currency_code').notNull(),
  taxRateBps: integer('tax_rate_bps').notNull(),
  pricesIncludeTax: integer('prices_include_tax', { mode: 'boolean' }).notNull(),
  /** Ordered locale codes, the first being the region's default, e.g. ["de","en"]. */
  locales: text('locales', { mode: 'json' }).$type<string[]>().notNull(),
  ...timestamps,
});

/** A country belongs to at most one region: the primary key enforces it. */
export const regionCountries = sqliteTable(
  'region_countries',
  {
    countryCode: text('country_code').primaryKey(),
    regionId: text('region_id')
      .notNull()
      .references(() => regions.id, { onDelete: 'cascade' }),
  },
  (t) => [index('region_countries_region_idx').on(t.regionId)],
);

export const products = sqliteTable(
  'products',
  {
    id: text('id').primaryKey(),
    handle: text('handle').notNull().unique(),
    status: text('status', { enum: ['draft', 'active', 'archived'] })
      .notNull()
      .default('draft'),
    ...timestamps,
  },
  (t) => [
    index('products_status_created_idx').on(t.status, t.createdAt),
    // Staff list products by status in id order (src/modules/products/admin-read.ts).
    index('products_status_id_idx').on(t.status, t.id),
    // The storefront's product page: a draft's handle reads no row (getProductByHandle, store-read.ts).
    index('products_active_handle_idx').on(t.handle).where(sql`status = 'active'`),
  ],
);

export const productTranslations = sqliteTable(
  'product_translations',
  {
    productId: text('product_id')
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    locale: text('locale').notNull(),
    title: text('title').notNull(),
    description: text('description').notNull().default(''),
    seoTitle: text('seo_title'),
    seoDescription: text('seo_description'),
  },
  (t) => [primaryKey({ columns: [t.productId, t.locale] })],
);

export const productOptions = sqliteTable(
  'product_options',
  {
    id: text('id').primaryKey(),
    productId: text('product_id')
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    position: integer('position').notNull().default(0),
  },
  (t) => [uniqueIndex('product_options_name_uq').on(t.productId, t.name)],
);

export const variants = sqliteTable(
  'variants',
  {
    id: text('id').primaryKey(),
    productId: text('product_id')
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    sku: text('sku').notNull().unique(),
    title: text('title').notNull(),
    /** Option name -> value, e.g. {"Size":"M","Color":"Blue"}. */
    options: text('options', { mode: 'json' }).$type<Record<string, string>>().notNull(),
    weightGrams: integer('weight_grams'),
    barcode: text('barcode'),
    position: integer('position').notNull().default(0),
    ...timestamps,
  },
  (t) => [index('variants_product_idx').on(t.productId)],
);

export const prices = sqliteTable(
  'prices',
  {
    variantId: text('variant_id')
      .notNull()
      .references(() => variants.id, { onDelete: 'cascade' }),
    currencyCode: text('currency_code').notNull(),
    amount: integer('amount').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.variantId, t.currencyCode] }),
    index('prices_currency_amount_idx').on(t.currencyCode, t.amount),
  ],
);

export const categories = sqliteTable(
  'categories',
  {
    id: text('id').primaryKey(),
    parentId: text('parent_id').references((): AnySQLiteColumn => categories.id, {
      onDelete: 'restrict',
    }),
    handle: text('handle').notNull().unique(),
    position: integer('position').notNull().default(0),
    ...timestamps,
  },
  // Children of a category, in the id order staff list them by (src/modules/categories/admin-read.ts).
  (t) => [index('categories_parent_idx').on(t.parentId, t.id)],
);

export const categoryTranslations = sqliteTable(
  'category_translations',
  {
    categoryId: text('category_id')
      .notNull()
      .references(() => categories.id, { onDelete: 'cascade' }),
    locale: text('locale').notNull(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
  },
  (t) => [primaryKey({ columns: [t.categoryId, t.locale] })],
);

export const productCategories = sqliteTable(
  'product_categories',
  {
    productId: text('product_id')
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    categoryId: text('category_id')
      .notNull()
      .references(() => categories.id, { onDelete: 'cascade' }),
  },
  (t) => [
    primaryKey({ columns: [t.productId, t.categoryId] }),
    // With the product id, a category's links are in product order: a moved category is relisted in steps.
    index('product_categories_category_idx').on(t.categoryId, t.productId),
  ],
);

export const collections = sqliteTable('collections', {
  id: text('id').primaryKey(),
  handle: text('handle').notNull().unique(),
  ...timestamps,
});

export const collectionTranslations = sqliteTable(
  'collection_translations',
  {
    collectionId: text('collection_id')
      .notNull()
      .references(() => collections.id, { onDelete: 'cascade' }),
    locale: text('locale').notNull(),
    title: text('title').notNull(),
    description: text('description').notNull().default(''),
  },
  (t) => [primaryKey({ columns: [t.collectionId, t.locale] })],
);

export const productCollections = sqliteTable(
  'product_collections',
  {
    productId: text('product_id')
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    collectionId: text('collection_id')
      .notNull()
      .references(() => collections.id, { onDelete: 'cascade' }),
  },
  (t) => [
    primaryKey({ columns: [t.productId, t.collectionId] }),
    // With the product id, a collection's links are in product order: a new product list is relisted in steps.
    index('product_collections_collection_idx').on(t.collectionId, t.productId),
  ],
);

export const productImages = sqliteTable(
  'product_images',
  {
    id: text('id').primaryKey(),
    productId: text('product_id')
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    /** Locale -> alt text, e.g. {"en":"Blue mug","de":"Blaue Tasse"}. */
    alt: text('alt', { mode: 'json' }).$type<Record<string, string>>().notNull(),
    position: integer('position').notNull().default(0),
  },
  (t) => [index('product_images_product_idx').on(t.productId)],
);
