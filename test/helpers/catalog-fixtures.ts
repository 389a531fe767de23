/** Catalog rows written straight into D1 (no HTTP), so storefront tests do not depend on the admin API. */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import * as schema from '../../src/db/schema';
import { createDb } from '../../src/lib/db';
import { newId } from '../../src/lib/ids';
import { refreshStorefront, type StorefrontScope } from '../../src/modules/storefront/projection';
import { startStorefrontRebuild } from '../../src/modules/storefront/rebuild';
import { invalidateCatalogCache } from './cache-versions';
import { unique } from './unique';

const db = () => createDb(env.DB);

/** Brings the storefront read model in step with rows inserted here, as a catalog write's own batch does. */
export async function refreshReadModel(scope: StorefrontScope): Promise<void> {
  const [first, ...rest] = refreshStorefront(db(), scope);
  if (first) await db().batch([first, ...rest]);
}

export const STANDARD_REGIONS = [
  {
    code: 'us',
    name: 'United States',
    currencyCode: 'USD',
    taxRateBps: 825,
    pricesIncludeTax: false,
    locales: ['en'],
    countries: ['US'],
  },
  {
    code: 'eu',
    name: 'European Union',
    currencyCode: 'EUR',
    taxRateBps: 1900,
    pricesIncludeTax: true,
    locales: ['de', 'en', 'fr'],
    countries: ['DE', 'AT', 'FR', 'NL'],
  },
  {
    code: 'uk',
    name: 'United Kingdom',
    currencyCode: 'GBP',
    taxRateBps: 2000,
    pricesIncludeTax: true,
    locales: ['en'],
    countries: ['GB'],
  },
  {
    code: 'jp',
    name: 'Japan',
    currencyCode: 'JPY',
    taxRateBps: 1000,
    pricesIncludeTax: true,
    locales: ['ja', 'en'],
    countries: ['JP'],
  },
] as const;

/** Inserts the four standard regions once per test file and makes the region directory reload. */
export async function seedRegions(): Promise<void> {
  const existing = await db().select().from(schema.regions).all();
  if (existing.length > 0) return;
  for (const region of STANDARD_REGIONS) {
    const id = newId('reg');
    const { countries, ...row } = region;
    await db().batch([
      db()
        .insert(schema.regions)
        .values({ id, ...row, locales: [...row.locales] }),
      db()
        .insert(schema.regionCountries)
        .values(countries.map((countryCode) => ({ countryCode, regionId: id }))),
    ]);
    // Every product in one step, as a region's create does: the fixtures are small, and the tests of stepping
    // set their own chunk.
    const [first, ...rest] = startStorefrontRebuild(db(), { region: id }, Number.MAX_SAFE_INTEGER);
    if (first) await db().batch([first, ...rest]);
  }
  await invalidateCatalogCache();
}

type Translation = { title: string; description?: string; seoTitle?: string; seoDescription?: string };
export type ProductFixture = {
  handle?: string;
  status?: 'draft' | 'active' | 'archived';
  createdAt?: Date;
  translations?: Record<string, Translation>;
  options?: string[];
  variants?: {
    sku?: string;
    title?: string;
    options?: Record<string, string>;
    weightGrams?: number;
    prices: Record<string, number>;
  }[];
  categoryIds?: string[];
  collectionIds?: string[];
  images?: { url: string; alt: Record<string, string> }[];
};

/** A product with its translations, options, variants, prices and links, inserted straight into D1. */
export async function insertProductRow(fixture: ProductFixture = {}) {
  const id = newId('prod');
  const handle = fixture.handle ?? unique('product');
  const translations = fixture.translations ?? {
    en: { title: `Title of ${handle}`, description: 'A product.' },
  };
  const variants = (fixture.variants ?? [{ prices: { USD: 1000, EUR: 1190, GBP: 900, JPY: 1500 } }]).map(
    (v, i) => ({
      id: newId('var'),
      sku: v.sku ?? unique(`SKU-${handle}`),
      title: v.title ?? `Variant ${i + 1}`,
      options: v.options ?? {},
      weightGrams: v.weightGrams ?? null,
      prices: v.prices,
      position: i,
    }),
  );
  const d = db();
  await d.batch([
    d.insert(schema.products).values({
      id,
      handle,
      status: fixture.status ?? 'active',
      ...(fixture.createdAt ? { createdAt: fixture.createdAt, updatedAt: fixture.createdAt } : {}),
    }),
    d.insert(schema.productTranslations).values(
      Object.entries(translations).map(([locale, t]) => ({
        productId: id,
        locale,
        title: t.title,
        description: t.description ?? '',
        seoTitle: t.seoTitle ?? null,
        seoDescription: t.seoDescription ?? null,
      })),
    ),
  ]);
  const statements = [
    ...(fixture.options ?? []).map((name, position) =>
      d.insert(schema.productOptions).values({ id: newId('opt'), productId: id, name, position }),
    ),
    ...variants.flatMap((v) => [
      d.insert(schema.variants).values({
        id: v.id,
        productId: id,
        sku: v.sku,
        title: v.title,
        options: v.options,
        weightGrams: v.weightGrams,
        position: v.position,
      }),
      ...Object.entries(v.prices).map(([currencyCode, amount]) =>
        d.insert(schema.prices).values({ variantId: v.id, currencyCode, amount }),
      ),
    ]),
    ...(fixture.categoryIds ?? []).map((categoryId) =>
      d.insert(schema.productCategories).values({ productId: id, categoryId }),
    ),
    ...(fixture.collectionIds ?? []).map((collectionId) =>
      d.insert(schema.productCollections).values({ productId: id, collectionId }),
    ),
    ...(fixture.images ?? []).map((img, position) =>
      d
        .insert(schema.productImages)
        .values({ id: newId('img'), productId: id, url: img.url, alt: img.alt, position }),
    ),
  ];
  for (const statement of statements) await statement;
  await refreshReadModel({ products: [id] });
  await invalidateCatalogCache();
  return { id, handle, variants };
}

/**
 * Sets a price straight in D1, with the storefront read model in the same batch, as a price write does; the
 * catalog version is left alone (tests bump it when they mean to).
 */
export async function setPriceRow(variantId: string, currencyCode: string, amount: number): Promise<void> {
  const d = db();
  const variant = await d
    .select({ productId: schema.variants.productId })
    .from(schema.variants)
    .where(eq(schema.variants.id, variantId))
    .get();
  if (!variant) throw new Error(`no variant ${variantId}`);
  await d.batch([
    d
      .insert(schema.prices)
      .values({ variantId, currencyCode, amount })
      .onConflictDoUpdate({ target: [schema.prices.variantId, schema.prices.currencyCode], set: { amount } }),
    ...refreshStorefront(d, { products: [variant.productId] }),
  ]);
}

/** A category and its names, inserted straight into D1. */
export async function insertCategoryRow(fields: {
  handle?: string;
  parentId?: string;
  position?: number;
  names: Record<string, string>;
}) {
  const id = newId('cat');
  const handle = fields.handle ?? unique('category');
  await db()
    .insert(schema.categories)
    .values({ id, handle, parentId: fields.parentId ?? null, position: fields.position ?? 0 });
  await db()
    .insert(schema.categoryTranslations)
    .values(
      Object.entries(fields.names).map(([locale, name]) => ({
        categoryId: id,
        locale,
        name,
        description: '',
      })),
    );
  await invalidateCatalogCache();
  return { id, handle };
}

/** A collection and its titles, inserted straight into D1. */
export async function insertCollectionRow(fields: { handle?: string; titles: Record<string, string> }) {
  const id = newId('col');
  const handle = fields.handle ?? unique('collection');
  await db().insert(schema.collections).values({ id, handle });
  await db()
    .insert(schema.collectionTranslations)
    .values(
      Object.entries(fields.titles).map(([locale, title]) => ({
        collectionId: id,
        locale,
        title,
        description: '',
      })),
    );
  await invalidateCatalogCache();
  return { id, handle };
}
