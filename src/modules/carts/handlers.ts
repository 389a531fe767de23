import { shopperCallerOf } from '../../auth/caller';
import type { ShopperEnv } from '../../lib/app-env';
import { createDb } from '../../lib/db';
import { createRouter, sentFields } from '../../lib/openapi';
import { noStore } from '../../middleware/no-store';
import { clientIp, rateLimit } from '../../middleware/rate-limit';
import { addLineItem, removeLineItem, updateLineItem } from './line-items';
import { priceCart } from './load';
import { mergeGuestCart } from './merge';
import * as routes from './routes';
import { createCart, updateCart } from './service';
import { cartBody, currentCartBody, localesOf, reachableCart } from './shopper-view';

// A cart holds a shopper's address and, when created, its secret token: never kept by any cache.
const router = createRouter<ShopperEnv>();
router.use('/carts', noStore());
router.use('/carts/*', noStore());

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
  .openapi(routes.getCart, async (c) => c.json(await currentCartBody(c, c.req.valid('param').id), 200))
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
      c.var.idempotency,
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
