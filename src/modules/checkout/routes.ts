import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import { optionalCustomer } from '../../auth/require-customer';
import type { ShopperEnv } from '../../lib/app-env';
import { createDb } from '../../lib/db';
import { idempotencyKeyHeaders, jsonBody, jsonContent, problems } from '../../lib/openapi';
import { acceptIdempotencyKey } from '../../middleware/idempotency';
import { CART_TOKEN_HEADER, cartForShopper } from '../carts/access';
import { CartParams } from '../carts/schemas';
import { CheckoutBody, CheckoutResultSchema } from './schemas';

const CART_SECURITY: NonNullable<RouteConfig['security']> = [{ cartToken: [] }, { customerToken: [] }];

/**
 * 404 `cart_not_found` unless the caller may use the cart, BEFORE the Idempotency-Key is looked at: a stored
 * checkout response (an order token) is replayed only to someone who can reach the cart.
 */
const reachableCart = createMiddleware<ShopperEnv>(async function reachableCart(c, next) {
  await cartForShopper(createDb(c.env.DB), c.req.param('id') ?? '', {
    customerId: c.var.principal?.id ?? null,
    cartToken: c.req.header(CART_TOKEN_HEADER),
  });
  await next();
});

const chain: MiddlewareHandler<ShopperEnv>[] = [
  optionalCustomer(),
  reachableCart,
  acceptIdempotencyKey<ShopperEnv>({ required: true, scope: (c) => `cart:${c.req.param('id')}` }),
];
// Typed as one handler: every one in the chain has the shopper's env, which is what the handler reads.
const middleware = chain as [MiddlewareHandler<ShopperEnv>];

export const checkoutCart = createRoute({
  method: 'post',
  path: '/carts/{id}/checkout',
  tags: ['Store: checkout'],
  summary: 'Place the order: hold the stock, authorize the payment, create the order',
  description:
    'The cart needs an email (422 `email_required` also when its email is one the API no longer takes), a ' +
    'shipping address in its region and at least one line; with no shipping option ' +
    'chosen, the cheapest that applies is used. Requires an `Idempotency-Key`: a retry gets the same answer. ' +
    'With `stripe` and no `payment_method`, the order waits in `pending_payment` and `payment.client_secret` ' +
    'goes to Stripe.js; the order is paid when Stripe confirms (webhook, or `POST /v1/store/orders/{id}/confirm-payment`). ' +
    'A key whose five attempts each failed after authorizing (a server error each time) is 409 ' +
    '`payment_attempts_exhausted`: send the checkout again with a new key.',
  middleware,
  security: CART_SECURITY,
  request: {
    params: CartParams,
    headers: idempotencyKeyHeaders(true),
    body: { ...jsonBody(CheckoutBody), required: false as const },
  },
  responses: {
    201: jsonContent(CheckoutResultSchema, 'The order (and, for a guest, its order token)'),
    ...problems(400, 401, 402, 404, 409, 415, 422, 503),
  },
});
