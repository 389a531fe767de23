/**
 * Admin fixtures through HTTP (`create*` call the real admin API); straight to D1 only secret keys and reads.
 * Also a snapshot of every catalog table plus the cache versions, to prove a refusal changed nothing.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { expect } from 'vitest';
import { issueSecretKey } from '../../src/auth/secret-key';
import { apiKeys } from '../../src/db/schema';
import { createDb } from '../../src/lib/db';
import { PERMISSIONS } from '../../src/lib/permissions';
import { cacheVersionRows } from './cache-versions';
import { bearer, type CallInit, call, expectProblem } from './http';
import { unique } from './unique';

let sharedKey: Promise<string> | undefined;

/** A valid secret key holding every permission, issued straight into D1 once per test file. */
export function adminKey(): Promise<string> {
  sharedKey ??= issueSecretKey(env.DB, 'admin tests', PERMISSIONS).then((issued) => issued.key);
  return sharedKey;
}

/** A secret key issued straight into D1 and revoked there. */
export async function revokedKey(): Promise<string> {
  const issued = await issueSecretKey(env.DB, 'revoked in tests', PERMISSIONS);
  await createDb(env.DB).update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, issued.id));
  return issued.key;
}

/** Calls an admin route with a valid secret key; `body` is sent as JSON, a string as-is. */
export async function admin(
  method: string,
  path: string,
  body?: unknown,
  init: CallInit = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('Authorization', bearer(await adminKey()).Authorization);
  if (body !== undefined) headers.set('Content-Type', 'application/json');
  return call(`/v1/admin${path}`, {
    ...init,
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

const SYNTHETIC_COUNTRY_LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
let countryCounter = 0;

/** A well-formed country code outside the real ones tests name explicitly (DE, FR, AT, US). */
export function uniqueCountry(): string {
  const index = countryCounter++;
  const first = ['X', 'Y', 'Z', 'Q'][Math.floor(index / 26)];
  if (!first) throw new Error('uniqueCountry ran out of codes');
  return `${first}${SYNTHETIC_COUNTRY_LETTERS[index % 26]}`;
}

async function created<T>(res: Response): Promise<T> {
  if (res.status !== 201) throw new Error(`fixture create failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export type AdminRegionBody = {
  id: string;
  code: string;
  name: string;
  currency: string;
  tax_rate_bps: number;
  prices_include_tax: boolean;
  locales: string[];
  countries: string[];
  created_at: string;
  updated_at: string;
};

export function regionInput(overrides: Record<string, unknown> = {}) {
  return {
    code: unique('r'),
    name: 'Test region',
    currency: 'EUR',
    tax_rate_bps: 1900,
    prices_include_tax: true,
    locales: ['en', 'de'],
    countries: [uniqueCountry()],
    ...overrides,
  };
}

export async function createRegion(overrides: Record<string, unknown> = {}): Promise<AdminRegionBody> {
  return created(await admin('POST', '/regions', regionInput(overrides)));
}

export type AdminProductBody = {
  id: string;
  handle: string;
  status: string;
  translations: Record<
    string,
    { title: string; description: string; seo_title: string | null; seo_description: string | null }
  >;
  options: { id: string; name: string; position: number }[];
  variants: AdminVariantBody[];
  category_ids: string[];
  collection_ids: string[];
  images: { id: string; url: string; alt: Record<string, string>; position: number }[];
  created_at: string;
  updated_at: string;
};

export type AdminVariantBody = {
  id: string;
  product_id: string;
  sku: string;
  title: string;
  options: Record<string, string>;
  weight_grams: number | null;
  barcode: string | null;
  position: number;
  prices: { currency: string; amount: number }[];
  created_at: string;
  updated_at: string;
};

export function productInput(overrides: Record<string, unknown> = {}) {
  return {
    handle: unique('product'),
    translations: { en: { title: 'Test product' } },
    options: [{ name: 'Size' }],
    variants: [
      { sku: unique('SKU'), title: 'M', options: { Size: 'M' }, prices: [{ currency: 'EUR', amount: 1999 }] },
    ],
    ...overrides,
  };
}

/** Creates a product (and a EUR region first, so its EUR prices are allowed). */
export async function createProduct(overrides: Record<string, unknown> = {}): Promise<AdminProductBody> {
  await ensureCurrencySold('EUR');
  return created(await admin('POST', '/products', productInput(overrides)));
}

const soldCurrencies = new Set<string>();

export async function ensureCurrencySold(currency: string): Promise<void> {
  if (soldCurrencies.has(currency)) return;
  const sold = await env.DB.prepare('SELECT 1 FROM regions WHERE currency_code = ?').bind(currency).first();
  if (!sold) await createRegion({ currency, countries: [] });
  soldCurrencies.add(currency);
}

export type AdminCategoryBody = {
  id: string;
  handle: string;
  parent_id: string | null;
  position: number;
  translations: Record<string, { name: string; description: string }>;
  storefront_rebuild_since: string | null;
  created_at: string;
  updated_at: string;
};

export async function createCategory(overrides: Record<string, unknown> = {}): Promise<AdminCategoryBody> {
  return created(
    await admin('POST', '/categories', {
      handle: unique('category'),
      translations: { en: { name: 'Test category' } },
      ...overrides,
    }),
  );
}

export type AdminCollectionBody = {
  id: string;
  handle: string;
  translations: Record<string, { title: string; description: string }>;
  product_ids: string[];
  storefront_rebuild_since: string | null;
  created_at: string;
  updated_at: string;
};

export async function createCollection(
  overrides: Record<string, unknown> = {},
): Promise<AdminCollectionBody> {
  return created(
    await admin('POST', '/collections', {
      handle: unique('collection'),
      translations: { en: { title: 'Test collection' } },
      ...overrides,
    }),
  );
}

const CATALOG_TABLES = [
  'regions',
  'region_countries',
  'products',
  'product_translations',
  'product_options',
  'variants',
  'prices',
  'categories',
  'category_translations',
  'product_categories',
  'collections',
  'collection_translations',
  'product_collections',
  'product_images',
  'storefront_documents',
  'storefront_lanes',
  'storefront_entries',
  'storefront_search_rows',
  'storefront_search',
] as const;

export type CatalogSnapshot = { versions: Record<string, number>; tables: Record<string, unknown[]> };

/** Every catalog row (the storefront read model included) and every cache version, to compare before and after. */
export async function snapshot(): Promise<CatalogSnapshot> {
  const results = await env.DB.batch(
    CATALOG_TABLES.map((table) => env.DB.prepare(`SELECT * FROM ${table} ORDER BY rowid`)),
  );
  return {
    versions: await cacheVersionRows(),
    tables: Object.fromEntries(CATALOG_TABLES.map((table, i) => [table, results[i]?.results ?? []])),
  };
}

/** Asserts that nothing in the catalog, and no cache version, changed since `before`. */
export async function expectUnchanged(before: CatalogSnapshot): Promise<void> {
  expect(await snapshot()).toStrictEqual(before);
}

/** The cache versions as one comparable value: any catalog write moves at least one of them. */
export const catalogVersion = async () => JSON.stringify(await cacheVersionRows());

/** Runs SQL against the test D1 and returns the rows, for asserting what a request wrote. */
export async function rows(query: string, ...params: unknown[]): Promise<Record<string, unknown>[]> {
  return (
    await env.DB.prepare(query)
      .bind(...params)
      .all()
  ).results;
}

/** Sends a request that must be refused, and proves the refusal changed nothing and bumped nothing. */
export async function expectRejected(
  request: () => Promise<Response>,
  status: number,
  code: string,
  errors?: { pointer: string; message: unknown }[],
): Promise<void> {
  const before = await snapshot();
  await expectProblem(await request(), status, code, errors);
  await expectUnchanged(before);
}
