/**
 * The cart as a shopper's request sees it: whether the caller may reach the cart of the path, the locales its
 * product titles follow, and the body every cart route answers with. Shared by the handlers and by the replay of
 * an Idempotency-Key (routes.ts), which answers with the cart as it is now.
 */
import type { HonoRequest } from 'hono';
import { createDb } from '../../lib/db';
import { localeChainOf, negotiateLocale } from '../../lib/locale';
import type { CustomerPrincipal } from '../../lib/permissions';
import { getRegionDirectory } from '../../lib/region-directory';
import type { StoreContext } from '../../lib/store-context';
import { CART_TOKEN_HEADER, cartForShopper, type Shopper } from './access';
import { type LoadedCart, type LocaleChains, priceCart } from './load';
import { serializeCart } from './schemas';

/** The parts of a cart route's context that say who is asking (merge's context has a required principal). */
export type ShopperContext = {
  env: Env;
  req: HonoRequest;
  var: { principal?: CustomerPrincipal | undefined };
};

function shopperOf(c: ShopperContext): Shopper {
  return { customerId: c.var.principal?.id ?? null, cartToken: c.req.header(CART_TOKEN_HEADER) };
}

/** The cart of the path if the caller may use it, else 404 `cart_not_found`. */
export const reachableCart = (c: ShopperContext, id: string) =>
  cartForShopper(createDb(c.env.DB), id, shopperOf(c));

export const cartBody = (loaded: LoadedCart) => ({ cart: serializeCart(loaded, new Date()) });

/**
 * Product titles follow the cart's region, which need not be the one the edge resolved for this request: the
 * shopper's Accept-Language among that region's locales, else its first. Read from the region directory
 * (memoized per isolate), so it costs no query.
 */
export async function localesOf(c: {
  env: Env;
  req: HonoRequest;
  var: { store: StoreContext };
}): Promise<LocaleChains> {
  const store = c.var.store;
  const { regions } = await getRegionDirectory(c.env.DB, store.versions);
  return (regionId) => {
    const region = regions.find((r) => r.id === regionId);
    if (!region || region.id === store.region.id) return store.localeChain;
    const locale = negotiateLocale(c.req.header('Accept-Language'), region.locales) ?? region.locales[0];
    return locale ? localeChainOf(locale, region.locales) : store.localeChain;
  };
}

/** The body of the cart `id` as it is now, priced, for a caller who may reach it (else 404). */
export async function currentCartBody(
  c: ShopperContext & { var: { store: StoreContext } },
  id: string,
): Promise<ReturnType<typeof cartBody>> {
  const cart = await reachableCart(c, id);
  return cartBody(await priceCart(c.env, createDb(c.env.DB), cart, { locales: await localesOf(c) }));
}
