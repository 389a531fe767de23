/**
 * A Worker for bench/run.mjs only, never deployed: runs a storefront listing with the route's own query schema
 * and read functions against the benchmark's D1 database, through a binding that counts D1 round trips and rows
 * read (what D1 bills), and answers with those counts. The store context is resolved as the geo middleware does
 * for an explicit `region` (and optional `locale`) parameter.
 */

import { CacheVersions } from '../src/lib/cache-versions';
import { D1Meter, meteredDatabase } from '../src/lib/d1-meter';
import { listProducts } from '../src/modules/products/store-read';
import { ListProductsQuery } from '../src/modules/products/store-schemas';

type RegionRow = {
  id: string;
  code: string;
  name: string;
  currency_code: string;
  tax_rate_bps: number;
  prices_include_tax: number;
  locales: string;
};

export default {
  async fetch(request: Request, env: { DB: D1Database }): Promise<Response> {
    const params = Object.fromEntries(new URL(request.url).searchParams);
    const region = await env.DB.prepare('SELECT * FROM regions WHERE code = ?')
      .bind(params.region ?? '')
      .first<RegionRow>();
    if (!region) return Response.json({ error: 'unknown region' }, { status: 404 });
    const locales = JSON.parse(region.locales) as string[];
    const locale = params.locale ?? locales[0] ?? 'en';
    const store = {
      country: null,
      region: {
        id: region.id,
        code: region.code,
        name: region.name,
        currencyCode: region.currency_code,
        taxRateBps: region.tax_rate_bps,
        pricesIncludeTax: region.prices_include_tax === 1,
        locales,
        countries: [],
      },
      locale,
      localeChain: [locale, ...locales.filter((l) => l !== locale)],
      versions: new CacheVersions(new Map(), null),
    };
    const meter = new D1Meter();
    const { data } = await listProducts(
      meteredDatabase(env.DB, meter),
      ListProductsQuery.parse(params),
      store,
    );
    return Response.json({ round_trips: meter.queries, rows_read: meter.rowsRead, products: data.length });
  },
};
