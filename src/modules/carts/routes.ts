import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import { optionalCustomer, requireCustomer } from '../../auth/require-customer';
import type { ShopperEnv } from '../../lib/app-env';
import {
  idempotencyKeyHeaders,
  jsonBody,
  jsonContent,
  LocationHeader,
  problems,
  recordedKeySemantics,
} from '../../lib/openapi';
import { acceptIdempotencyKey } from '../../middleware/idempotency';
import { MAX_CART_LINES, MAX_CART_QUANTITY, MAX_LINE_QUANTITY } from './limits';
import {
  AddLineItemBody,
  CartParams,
  CartResponseSchema,
  CartShippingOptionListSchema,
  CreateCartBody,
  CreatedCartSchema,
  LineItemParams,
  UpdateCartBody,
  UpdateLineItemBody,
} from './schemas';
import { currentCartBody } from './shopper-view';

const tags = ['Store: carts'];

/** A guest reaches a cart with its `X-Cart-Token`, a customer with their access token. */
/** A guest may call it, or a customer with their access token. */
const OPTIONAL_CUSTOMER: NonNullable<RouteConfig['security']> = [{}, { customerToken: [] }];

const CART_SECURITY: NonNullable<RouteConfig['security']> = [{ cartToken: [] }, { customerToken: [] }];

/** A route on one cart: a customer token, if sent, is checked before anything else. */
const cartRoute = <const R extends Omit<RouteConfig, 'middleware' | 'security'>>(route: R) =>
  createRoute({ ...route, middleware: [optionalCustomer()] as const, security: CART_SECURITY });

/**
 * Adding to a cart adds to the line, so a storefront retrying after a lost answer would add twice: the route takes
 * an Idempotency-Key, per cart as checkout's, and a replay answers the cart as it is now (priced again).
 */
const acceptAddKey = acceptIdempotencyKey<ShopperEnv>({
  scope: (c) => `cart:${c.req.param('id')}`,
  replayAs: (c) => currentCartBody(c, c.req.param('id') ?? ''),
});

const NOT_FOUND = 'No such cart, or not reachable with the credentials sent (`cart_not_found`)';
const cartProblems = (...statuses: Parameters<typeof problems>) => {
  const listed = problems(...statuses);
  const notFound = listed[404];
  return notFound ? { ...listed, 404: { ...notFound, description: NOT_FOUND } } : listed;
};

const LIMITS =
  `Limits: ${MAX_LINE_QUANTITY} units per line (422 \`line_quantity_limit\`), ${MAX_CART_LINES} lines ` +
  `(422 \`cart_line_limit\`) and ${MAX_CART_QUANTITY} units per cart (422 \`cart_quantity_limit\`).`;

export const createCart = createRoute({
  method: 'post',
  path: '/carts',
  tags,
  summary: 'Create a cart',
  description:
    'A guest gets the cart and its secret `token` (send it as `X-Cart-Token` from then on). A signed-in customer ' +
    '(access token sent) gets a cart of their own, reached with their access token; if they already have an ' +
    'active cart, that cart is answered with 200 instead.',
  middleware: [optionalCustomer()] as const,
  security: OPTIONAL_CUSTOMER,
  request: { body: { ...jsonBody(CreateCartBody), required: false as const } },
  responses: {
    201: { ...jsonContent(CreatedCartSchema, 'The new cart and its token'), headers: LocationHeader },
    200: jsonContent(CreatedCartSchema, 'The signed-in customer’s existing active cart (token null)'),
    ...problems(400, 401, 415, 422),
  },
});

export const getCart = cartRoute({
  method: 'get',
  path: '/carts/{id}',
  tags,
  summary: 'A cart with its lines, prices, flags, holds and totals',
  request: { params: CartParams },
  responses: { 200: jsonContent(CartResponseSchema, 'The cart'), ...cartProblems(401, 404) },
});

export const updateCart = cartRoute({
  method: 'patch',
  path: '/carts/{id}',
  tags,
  summary: 'Set the region, email, shipping address, shipping option or discount code',
  description:
    'Discount codes answer 422 with the reason (`discount_code_invalid`, `discount_not_started`, ' +
    '`discount_expired`, `discount_region_excluded`, `discount_currency_mismatch`, `discount_minimum_not_met`, ' +
    '`discount_usage_limit_reached`, `discount_customer_limit_reached`); attempts are limited per cart and per ' +
    'client IP (429). A cart being checked out or already completed answers 409 `cart_not_open`. An address, ' +
    'option or code sent without `region` is checked against the cart’s region: if another request moved the ' +
    'cart to another region meanwhile, 409 `cart_changed` and nothing changes (send it again).',
  request: { params: CartParams, body: jsonBody(UpdateCartBody) },
  responses: {
    200: jsonContent(CartResponseSchema, 'The updated cart'),
    ...cartProblems(400, 401, 404, 409, 415, 422, 429),
  },
});

export const addLineItem = createRoute({
  method: 'post',
  path: '/carts/{id}/line-items',
  tags,
  summary: 'Add a variant (to its line, if the cart has one) and hold its stock',
  description: `Not enough stock: 409 \`out_of_stock\` with \`available\`. ${LIMITS}`,
  middleware: [optionalCustomer(), acceptAddKey] as const,
  security: CART_SECURITY,
  request: {
    params: CartParams,
    headers: idempotencyKeyHeaders(
      false,
      recordedKeySemantics('the first status with the cart as it is now'),
    ),
    body: jsonBody(AddLineItemBody),
  },
  responses: {
    200: jsonContent(CartResponseSchema, 'The cart'),
    ...cartProblems(400, 401, 404, 409, 415, 422),
  },
});

export const updateLineItem = cartRoute({
  method: 'patch',
  path: '/carts/{id}/line-items/{line_id}',
  tags,
  summary: 'Change a line’s quantity (its stock hold follows)',
  description: `Not enough stock: 409 \`out_of_stock\` with \`available\`. ${LIMITS}`,
  request: { params: LineItemParams, body: jsonBody(UpdateLineItemBody) },
  responses: {
    200: jsonContent(CartResponseSchema, 'The cart'),
    ...cartProblems(400, 401, 404, 409, 415, 422),
  },
});

export const removeLineItem = cartRoute({
  method: 'delete',
  path: '/carts/{id}/line-items/{line_id}',
  tags,
  summary: 'Remove a line and release its stock',
  request: { params: LineItemParams },
  responses: { 200: jsonContent(CartResponseSchema, 'The cart'), ...cartProblems(401, 404, 409) },
});

export const listShippingOptions = cartRoute({
  method: 'get',
  path: '/carts/{id}/shipping-options',
  tags,
  summary: 'The shipping options that can carry this cart, priced for it, cheapest first',
  request: { params: CartParams },
  responses: {
    200: jsonContent(CartShippingOptionListSchema, 'Options with their price for this cart'),
    ...cartProblems(401, 404),
  },
});

export const mergeCart = createRoute({
  method: 'post',
  path: '/carts/{id}/merge',
  tags,
  summary: 'After sign-in: merge this guest cart into the customer’s cart (or make it theirs)',
  description:
    'Send the customer’s access token AND the guest cart’s `X-Cart-Token`. Lines of the same variant are ' +
    `summed (at most ${MAX_LINE_QUANTITY} per line); if the result would exceed the cart’s limits, 422 and ` +
    'nothing moves; if the guest cart changes meanwhile (a line added in another tab), 409 `cart_changed` and ' +
    'nothing moves: send it again. Answers the customer’s cart; calling it again answers it again.',
  middleware: [requireCustomer()] as const,
  security: [{ customerToken: [], cartToken: [] }],
  request: { params: CartParams },
  responses: {
    200: jsonContent(CartResponseSchema, 'The customer’s cart'),
    ...cartProblems(401, 404, 409, 422),
  },
});
