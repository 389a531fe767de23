import type { StoreEnv } from '../../lib/app-env';
import { createRouter } from '../../lib/openapi';
import { getRegionDirectory } from '../../lib/region-directory';
import type { RegionInfo } from '../../lib/store-context';
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

export const storeRegionsRouter = createRouter<StoreEnv>().openapi(routes.listRegions, async (c) => {
  const store = c.get('store');
  const directory = await getRegionDirectory(c.env.DB, store.versions);
  return c.json(
    { context: serializeStoreContext(store), data: directory.regions.map(serializeStoreRegion) },
    200,
  );
});
