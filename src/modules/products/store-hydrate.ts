/**
 * Turns a page of product ids into full storefront products in one D1 round trip: a batch of three reads keyed
 * by a JSON array of ids (so a page of 100 stays under D1's bound-parameter limit). Each product's own content
 * comes from its storefront document (one row); its categories and collections are read live, because their
 * names and handles change without the product changing. Text is localized with fallback and prices are shown
 * for the region.
 */

import { localeChainParam, localePreference } from '../../lib/locale-sql';
import type { StoreContext } from '../../lib/store-context';
import type { StorefrontDocument } from '../storefront/statements';
import { priceFor } from './price';
import type { StoreProduct } from './store-schemas';

type DocumentRow = { product_id: string; document: string };
type LinkRow = { product_id: string; id: string; handle: string; name: string };

const IDS = 'SELECT value FROM json_each(?)';

/** The rows of one statement of a batch; each statement's row shape is fixed by its SELECT list. */
function rowsOf<T>(result: D1Result | undefined): T[] {
  return (result?.results ?? []) as T[];
}

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

function groupBy<T extends { product_id: string }>(rows: T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const list = groups.get(row.product_id);
    if (list) list.push(row);
    else groups.set(row.product_id, [row]);
  }
  return groups;
}

/**
 * Products' categories or collections, each named along the locale chain. The names are picked once per
 * category (not once per link), so a page whose products share categories reads each category's names once.
 */
function linkQuery(link: string, table: string, translations: string, key: string, column: string) {
  return `WITH links AS MATERIALIZED (SELECT product_id, ${key} AS id FROM ${link} WHERE product_id IN (${IDS})),
    named AS MATERIALIZED (
      SELECT x.id, x.handle, (SELECT ${column} FROM ${translations} WHERE ${key} = x.id
        ORDER BY ${localePreference('locale')}, locale LIMIT 1) AS name
      FROM ${table} x WHERE x.id IN (SELECT id FROM links))
    SELECT l.product_id, n.id, n.handle, n.name FROM links l JOIN named n ON n.id = l.id ORDER BY n.handle`;
}

/** One product as the storefront shows it, or undefined when it has no text or no variant priced here. */
function render(
  id: string,
  document: StorefrontDocument,
  links: { categories: LinkRow[]; collections: LinkRow[] },
  store: StoreContext,
): StoreProduct | undefined {
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
    categories: links.categories.map(({ id: cid, handle, name }) => ({ id: cid, handle, name })),
    collections: links.collections.map(({ id: cid, handle, name }) => ({ id: cid, handle, title: name })),
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
  const json = JSON.stringify(ids);
  const chain = localeChainParam(store.localeChain);
  const [documents, categories, collections] = await d1.batch([
    d1
      .prepare(`SELECT product_id, document FROM storefront_documents WHERE product_id IN (${IDS})`)
      .bind(json),
    d1
      .prepare(linkQuery('product_categories', 'categories', 'category_translations', 'category_id', 'name'))
      .bind(json, chain),
    d1
      .prepare(
        linkQuery('product_collections', 'collections', 'collection_translations', 'collection_id', 'title'),
      )
      .bind(json, chain),
  ]);
  // The document is JSON this service wrote itself (src/modules/storefront/projection.ts), not client input.
  const byId = new Map(
    rowsOf<DocumentRow>(documents).map((row) => [
      row.product_id,
      JSON.parse(row.document) as StorefrontDocument,
    ]),
  );
  const categoriesOf = groupBy(rowsOf<LinkRow>(categories));
  const collectionsOf = groupBy(rowsOf<LinkRow>(collections));
  return ids.flatMap((id) => {
    const document = byId.get(id);
    const links = { categories: categoriesOf.get(id) ?? [], collections: collectionsOf.get(id) ?? [] };
    const product = document && render(id, document, links, store);
    return product ? [product] : [];
  });
}
