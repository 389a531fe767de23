/**
 * A locale stored before Locale required Intl to take it (`de-12`, written by an older release) must not turn a
 * region's pages into 500s: prices are shown in the locale's language instead.
 */
import { env } from 'cloudflare:workers';
import { expect, it } from 'vitest';
import { admin, rows } from '../helpers/admin-fixtures';
import { insertProductRow, seedRegions } from '../helpers/catalog-fixtures';
import { call } from '../helpers/http';

it('shows the pages of a region with a stored locale Intl refuses, its prices in the language', async () => {
  await seedRegions();
  const [region] = await rows('SELECT id FROM regions WHERE code = ?', 'eu');
  // As an older release let it be stored; a later region write moves the catalog version, as it would.
  await env.DB.prepare(`UPDATE regions SET locales = '["de-12"]' WHERE id = ?`).bind(region?.id).run();
  expect((await admin('PATCH', `/regions/${region?.id}`, { name: 'Legacy' })).status).toBe(200);
  // Its storefront rows, as that release wrote them for the stored locale.
  const product = await insertProductRow({ variants: [{ prices: { EUR: 1999 } }] });

  const page = await call(`/v1/store/products/${product.handle}?region=eu`);
  expect(page.status, await page.clone().text()).toBe(200);
  const body = (await page.json()) as {
    context: { locale: string };
    product: { variants: { price: { formatted: string } }[] };
  };
  expect(body.context.locale).toBe('de-12');
  expect(body.product.variants.map((v) => v.price.formatted)).toStrictEqual(['19,99\u00a0€']);

  const listing = await call('/v1/store/products?region=eu&limit=100');
  expect(listing.status, await listing.clone().text()).toBe(200);
});
