/**
 * Turns a page of product ids into full storefront products in one D1 round trip (a batch of six reads keyed by
 * a JSON array of ids, so a page of 100 stays under D1's bound-parameter limit), localized with fallback and
 * priced for the region.
 */

import { localeChainParam, localePreference } from '../../lib/locale-sql';
import type { StoreContext } from '../../lib/store-context';
import { priceFor } from './price';
import type { StoreProduct } from './store-schemas';

type ProductRow = { id: string; handle: string; created_at: number };
type TranslationRow = {
  product_id: string;
  locale: string;
  title: string;
  description: string;
  seo_title: string | null;
  seo_description: string | null;
};
type VariantRow = {
  id: string;
  product_id: string;
  sku: string;
  title: string;
  options: string;
  weight_grams: number | null;
  barcode: string | null;
  amount: number;
};
type OptionRow = { product_id: string; name: string };
type ImageRow = { product_id: string; url: string; alt: string; position: number };
type LinkRow = { product_id: string; id: string; handle: string; name: string };

const IDS = 'SELECT value FROM json_each(?)';

/** The rows of one statement of a batch; each statement's row shape is fixed by its SELECT list. */
function rowsOf<T>(result: D1Result | undefined): T[] {
  return (result?.results ?? []) as T[];
}

/** The first translation along the store's locale chain, else whatever exists. */
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

/** Products' categories or collections, each named along the locale chain. */
function linkQuery(link: string, table: string, translations: string, key: string, column: string) {
  return `SELECT l.product_id, x.id, x.handle,
      (SELECT ${column} FROM ${translations} WHERE ${key} = x.id
        ORDER BY ${localePreference('locale')}, locale LIMIT 1) AS name
    FROM ${link} l JOIN ${table} x ON x.id = l.${key} WHERE l.product_id IN (${IDS}) ORDER BY x.handle`;
}

export async function hydrateProducts(
  d1: D1Database,
  ids: string[],
  store: StoreContext,
): Promise<StoreProduct[]> {
  if (ids.length === 0) return [];
  const json = JSON.stringify(ids);
  const { locale, localeChain } = store;
  const chain = localeChainParam(localeChain);
  const [products, translations, variants, options, images, categories, collections] = await d1.batch([
    d1.prepare(`SELECT id, handle, created_at FROM products WHERE id IN (${IDS})`).bind(json),
    d1
      .prepare(
        `SELECT product_id, locale, title, description, seo_title, seo_description FROM product_translations
         WHERE product_id IN (${IDS}) ORDER BY locale`,
      )
      .bind(json),
    d1
      .prepare(
        `SELECT v.id, v.product_id, v.sku, v.title, v.options, v.weight_grams, v.barcode, pr.amount
         FROM variants v JOIN prices pr ON pr.variant_id = v.id AND pr.currency_code = ?
         WHERE v.product_id IN (${IDS}) ORDER BY v.position, v.id`,
      )
      .bind(store.region.currencyCode, json),
    d1
      .prepare(
        `SELECT product_id, name FROM product_options WHERE product_id IN (${IDS}) ORDER BY position, name`,
      )
      .bind(json),
    d1
      .prepare(
        `SELECT product_id, url, alt, position FROM product_images WHERE product_id IN (${IDS}) ORDER BY position, id`,
      )
      .bind(json),
    d1
      .prepare(linkQuery('product_categories', 'categories', 'category_translations', 'category_id', 'name'))
      .bind(chain, json),
    d1
      .prepare(
        linkQuery('product_collections', 'collections', 'collection_translations', 'collection_id', 'title'),
      )
      .bind(chain, json),
  ]);
  const byId = new Map(rowsOf<ProductRow>(products).map((p) => [p.id, p]));
  const translationsOf = groupBy(rowsOf<TranslationRow>(translations));
  const variantsOf = groupBy(rowsOf<VariantRow>(variants));
  const optionsOf = groupBy(rowsOf<OptionRow>(options));
  const imagesOf = groupBy(rowsOf<ImageRow>(images));
  const categoriesOf = groupBy(rowsOf<LinkRow>(categories));
  const collectionsOf = groupBy(rowsOf<LinkRow>(collections));

  return ids.flatMap((id) => {
    const product = byId.get(id);
    const text = pickLocalized(translationsOf.get(id) ?? [], localeChain);
    const priced = variantsOf.get(id) ?? [];
    if (!product || !text || priced.length === 0) return [];
    const parsedVariants = priced.map((v) => ({
      ...v,
      options: JSON.parse(v.options) as Record<string, string>,
    }));
    const amounts = priced.map((v) => v.amount);
    return [
      {
        id,
        handle: product.handle,
        title: text.title,
        description: text.description,
        seo: { title: text.seo_title ?? text.title, description: text.seo_description ?? text.description },
        locale: text.locale,
        categories: (categoriesOf.get(id) ?? []).map(({ id: cid, handle, name }) => ({
          id: cid,
          handle,
          name,
        })),
        collections: (collectionsOf.get(id) ?? []).map(({ id: cid, handle, name }) => ({
          id: cid,
          handle,
          title: name,
        })),
        images: (imagesOf.get(id) ?? []).map((img) => ({
          url: img.url,
          alt: pickAlt(JSON.parse(img.alt) as Record<string, string>, localeChain),
          position: img.position,
        })),
        options: (optionsOf.get(id) ?? []).map((o) => ({
          name: o.name,
          values: [
            ...new Set(
              parsedVariants.flatMap((v) => (o.name in v.options ? [v.options[o.name] as string] : [])),
            ),
          ],
        })),
        variants: parsedVariants.map((v) => ({
          id: v.id,
          sku: v.sku,
          title: v.title,
          options: v.options,
          weight_grams: v.weight_grams,
          barcode: v.barcode,
          price: priceFor(v.amount, store.region, locale),
        })),
        price_range: {
          min: priceFor(Math.min(...amounts), store.region, locale),
          max: priceFor(Math.max(...amounts), store.region, locale),
        },
        created_at: new Date(product.created_at).toISOString(),
      },
    ];
  });
}
