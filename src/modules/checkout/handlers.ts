import { shopperCallerOf } from '../../auth/caller';
import type { ShopperEnv } from '../../lib/app-env';
import { createRouter } from '../../lib/openapi';
import { CART_TOKEN_HEADER } from '../carts/access';
import * as routes from './routes';
import { checkout } from './service';

// The answer holds the guest's order token and the shopper's address; the carts router's no-store covers
// every /carts/* path, this one included (asserted in test/checkout/checkout.test.ts).
export const checkoutRouter = createRouter<ShopperEnv>();

checkoutRouter.openapi(routes.checkoutCart, async (c) => {
  const claim = c.var.idempotency;
  if (!claim) throw new Error('acceptIdempotencyKey({ required: true }) must run before checkout');
  const result = await checkout(c.env, shopperCallerOf(c), {
    ...(c.req.valid('json') ?? {}),
    cartId: c.req.valid('param').id,
    shopper: { customerId: c.var.principal?.id ?? null, cartToken: c.req.header(CART_TOKEN_HEADER) },
    locales: () => c.var.store.localeChain,
    idempotency: claim,
  });
  // No Location: a replay answers status and body only, and must look like the first answer.
  return c.json(result, 201);
});
