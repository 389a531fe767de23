import { createRouter } from '../../lib/openapi';
import type { RegionInfo } from './context';
import { getRegionDirectory } from './directory';
import { serializeStoreContext } from './schemas';
import * as routes from './store-routes';

export function serializeStoreRegion(r: RegionInfo) {
  return {
    id: r.id,
    code: r.code,
    name: r.name,
    currency: r.currencyCode,
    tax_rate: r.taxRateBps / 10_000,
    tax_inclusive: r.pricesIncludeTax,
    locales: r.locales,
    countries: r.countries,
  };
}

export const storeRegionsRouter = createRouter().openapi(routes.listRegions, async (c) => {
  const store = c.get('store');
  const directory = await getRegionDirectory(c.env.DB, store.catalogVersion);
  return c.json(
    { context: serializeStoreContext(store), data: directory.regions.map(serializeStoreRegion) },
    200,
  );
});
