/**
 * Turns a page of product ids into full storefront products in one D1 round trip: one read of their storefront
 * documents (src/modules/storefront/statements.ts), keyed by a JSON array of ids so a page of 100 stays under
 * D1's bound-parameter limit. Text is localized along the store's locale chain with fallback, and prices are
 * shown for the region.
 */

import type { StoreContext } from '../../lib/store-context';
import type { StorefrontDocument } from '../storefront/statements';
import { priceFor } from './price';
import type { StoreProduct } from './store-schemas';

type DocumentRow = { product_id: string; document: string };

/** The first translation along the store's locale chain, else the first by locale. */
function pickLocalized<T extends { locale: string }>(rows: T[], chain: string[]): T | undefined {
  for (const locale of chain) {
    const row = rows.find((r) => r.locale === locale);
    if (row) return row;
  }
  return rows[0];
}

function pickAlt(alt: Record<string, string>, chain: string[]): string {
  const locale = chain.find((l) => l in alt);
  return locale ? (alt[locale] as string) : '';
}

/** A category's or collection's name along the locale chain, else in its first locale by code. */
function pickName(names: Record<string, string>, chain: string[]): string {
  const locale = chain.find((l) => l in names) ?? Object.keys(names).sort()[0];
  // The admin API keeps at least one translation of every category and collection.
  return locale === undefined ? '' : (names[locale] as string);
}

/** One product as the storefront shows it, or undefined when it has no text or no variant priced here. */
function render(id: string, document: StorefrontDocument, store: StoreContext): StoreProduct | undefined {
  const { locale, localeChain, region } = store;
  const text = pickLocalized(document.translations, localeChain);
  const priced = document.variants.flatMap((v) => {
    const amount = v.prices[region.currencyCode];
    return amount === undefined ? [] : [{ ...v, amount }];
  });
  if (!text || priced.length === 0) return undefined;
  const amounts = priced.map((v) => v.amount);
  return {
    id,
    handle: document.handle,
    title: text.title,
    description: text.description,
    seo: { title: text.seo_title ?? text.title, description: text.seo_description ?? text.description },
    locale: text.locale,
    categories: document.categories.map((c) => ({
      id: c.id,
      handle: c.handle,
      name: pickName(c.names, localeChain),
    })),
    collections: document.collections.map((c) => ({
      id: c.id,
      handle: c.handle,
      title: pickName(c.names, localeChain),
    })),
    images: document.images.map((img) => ({
      url: img.url,
      alt: pickAlt(img.alt, localeChain),
      position: img.position,
    })),
    options: document.options.map((name) => ({
      name,
      values: [...new Set(priced.flatMap((v) => (name in v.options ? [v.options[name] as string] : [])))],
    })),
    variants: priced.map((v) => ({
      id: v.id,
      sku: v.sku,
      title: v.title,
      options: v.options,
      weight_grams: v.weight_grams,
      barcode: v.barcode,
      price: priceFor(v.amount, region, locale),
    })),
    price_range: {
      min: priceFor(Math.min(...amounts), region, locale),
      max: priceFor(Math.max(...amounts), region, locale),
    },
    created_at: new Date(document.created_at).toISOString(),
  };
}

export async function hydrateProducts(
  d1: D1Database,
  ids: string[],
  store: StoreContext,
): Promise<StoreProduct[]> {
  if (ids.length === 0) return [];
  const { results } = await d1
    .prepare(
      `SELECT d.product_id, d.document FROM json_each(?) page
       CROSS JOIN storefront_documents d ON d.product_id = page.value`,
    )
    .bind(JSON.stringify(ids))
    .all<DocumentRow>();
  // The document is JSON this service wrote itself (src/modules/storefront/statements.ts), not client input.
  const byId = new Map(
    results.map((row) => [row.product_id, JSON.parse(row.document) as StorefrontDocument]),
  );
  return ids.flatMap((id) => {
    const document = byId.get(id);
    const product = document && render(id, document, store);
    return product ? [product] : [];
  });
}
