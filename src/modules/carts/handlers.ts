import type { HonoRequest } from 'hono';
import { shopperCallerOf } from '../../auth/caller';
import type { ShopperEnv } from '../../lib/app-env';
import { createDb } from '../../lib/db';
import { localeChainOf, negotiateLocale } from '../../lib/locale';
import { createRouter, sentFields } from '../../lib/openapi';
import type { CustomerPrincipal } from '../../lib/permissions';
import { getRegionDirectory } from '../../lib/region-directory';
import type { StoreContext } from '../../lib/store-context';
import { noStore } from '../../middleware/no-store';
import { clientIp, rateLimit } from '../../middleware/rate-limit';
import { CART_TOKEN_HEADER, cartForShopper, type Shopper } from './access';
import { addLineItem, removeLineItem, updateLineItem } from './line-items';
import { type LoadedCart, type LocaleChains, priceCart } from './load';
import { mergeGuestCart } from './merge';
import * as routes from './routes';
import { serializeCart } from './schemas';
import { createCart, updateCart } from './service';

// A cart holds a shopper's address and, when created, its secret token: never kept by any cache.
const router = createRouter<ShopperEnv>();
router.use('/carts', noStore());
router.use('/carts/*', noStore());

/** The parts of a cart route's context that say who is asking (merge's context has a required principal). */
type ShopperContext = { env: Env; req: HonoRequest; var: { principal?: CustomerPrincipal | undefined } };

function shopperOf(c: ShopperContext): Shopper {
  return { customerId: c.var.principal?.id ?? null, cartToken: c.req.header(CART_TOKEN_HEADER) };
}

/** The cart of the path if the caller may use it, else 404 `cart_not_found`. */
const reachableCart = (c: ShopperContext, id: string) => cartForShopper(createDb(c.env.DB), id, shopperOf(c));

const cartBody = (loaded: LoadedCart) => ({ cart: serializeCart(loaded, new Date()) });

/**
 * Product titles follow the cart's region, which need not be the one the edge resolved for this request: the
 * shopper's Accept-Language among that region's locales, else its first. Read from the region directory
 * (memoized per isolate), so it costs no query.
 */
async function localesOf(c: {
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

export const storeCartsRouter = router
  .openapi(routes.createCart, async (c) => {
    const store = c.var.store;
    const { loaded, token, created } = await createCart(c.env, shopperCallerOf(c), c.req.valid('json'), {
      storeRegion: store.region,
      customerId: c.var.principal?.id ?? null,
      locales: await localesOf(c),
    });
    const body = { ...cartBody(loaded), token };
    if (!created) return c.json(body, 200);
    c.header('Location', `/v1/store/carts/${loaded.cart.id}`);
    return c.json(body, 201);
  })
  .openapi(routes.getCart, async (c) => {
    const cart = await reachableCart(c, c.req.valid('param').id);
    const loaded = await priceCart(c.env, createDb(c.env.DB), cart, { locales: await localesOf(c) });
    return c.json(cartBody(loaded), 200);
  })
  .openapi(routes.updateCart, async (c) => {
    const cart = await reachableCart(c, c.req.valid('param').id);
    const input = c.req.valid('json');
    if (input.discount_code) {
      // Codes are guessable: limited per cart and per client, counted only for whoever may use the cart.
      await rateLimit('DISCOUNT_CART_RATE_LIMITER', `cart:${cart.id}`, c);
      await rateLimit('DISCOUNT_IP_RATE_LIMITER', `ip:${clientIp(c)}`, c);
    }
    const loaded = await updateCart(c.env, shopperCallerOf(c), cart, input, {
      locales: await localesOf(c),
      fields: await sentFields(c),
    });
    return c.json(cartBody(loaded), 200);
  })
  .openapi(routes.addLineItem, async (c) => {
    const cart = await reachableCart(c, c.req.valid('param').id);
    const loaded = await addLineItem(
      c.env,
      shopperCallerOf(c),
      cart,
      c.req.valid('json'),
      await localesOf(c),
    );
    return c.json(cartBody(loaded), 200);
  })
  .openapi(routes.updateLineItem, async (c) => {
    const { id, line_id } = c.req.valid('param');
    const cart = await reachableCart(c, id);
    const loaded = await updateLineItem(
      c.env,
      shopperCallerOf(c),
      cart,
      line_id,
      c.req.valid('json').quantity,
      await localesOf(c),
    );
    return c.json(cartBody(loaded), 200);
  })
  .openapi(routes.removeLineItem, async (c) => {
    const { id, line_id } = c.req.valid('param');
    const cart = await reachableCart(c, id);
    const loaded = await removeLineItem(c.env, shopperCallerOf(c), cart, line_id, await localesOf(c));
    return c.json(cartBody(loaded), 200);
  })
  .openapi(routes.listShippingOptions, async (c) => {
    const cart = await reachableCart(c, c.req.valid('param').id);
    const loaded = await priceCart(c.env, createDb(c.env.DB), cart, { locales: await localesOf(c) });
    const data = loaded.shippingOptions.map(({ option, amount }) => ({
      id: option.id,
      name: option.name,
      amount,
      free_over: option.freeOver,
    }));
    return c.json({ data }, 200);
  })
  .openapi(routes.mergeCart, async (c) => {
    const customerId = c.var.principal.id;
    const guest = await reachableCart(c, c.req.valid('param').id);
    const loaded = await mergeGuestCart(c.env, shopperCallerOf(c), guest, customerId, await localesOf(c));
    return c.json(cartBody(loaded), 200);
  });
