import { createRoute, type RouteConfig, z } from '@hono/zod-openapi';
import { optionalCustomer, requireCustomer } from '../../auth/require-customer';
import { guardedRoute, jsonContent, problems } from '../../lib/openapi';
import { PaginationQuery } from '../../lib/pagination';
import { OrderParams, StoreOrderListSchema, StoreOrderSchema } from './schemas';

const tags = ['Store: orders'];

export const listMyOrders = guardedRoute(requireCustomer(), 'customerToken', {
  method: 'get',
  path: '/orders',
  tags,
  summary: 'The signed-in customer’s orders, newest first',
  request: { query: z.object(PaginationQuery) },
  responses: { 200: jsonContent(StoreOrderListSchema, 'A page of orders'), ...problems(401, 422) },
});

export const OrderTokenHeaders = z.object({
  'X-Order-Token': z
    .string()
    .max(200)
    .optional()
    .openapi({ description: 'The `order_token` checkout returned, for an order placed as a guest' }),
});

/** Either credential opens an order: the customer's access token, or the guest's order token. */
const OWNER_SECURITY: NonNullable<RouteConfig['security']> = [{ customerToken: [] }, { orderToken: [] }];

export const getMyOrder = createRoute({
  method: 'get',
  path: '/orders/{id}',
  tags,
  summary: 'One order, for its customer (access token) or its guest (X-Order-Token)',
  description:
    'Anyone else, including another customer or a wrong token, gets 404 as for an order that does not exist.',
  middleware: [optionalCustomer()] as const,
  security: OWNER_SECURITY,
  request: { params: OrderParams, headers: OrderTokenHeaders },
  responses: { 200: jsonContent(StoreOrderSchema, 'The order'), ...problems(401, 404, 422) },
});

export const confirmMyOrderPayment = createRoute({
  method: 'post',
  path: '/orders/{id}/confirm-payment',
  tags,
  summary: 'After paying in the browser (Stripe.js): record the payment and answer the order',
  description:
    'Asks the payment provider and records what it says; a settled payment makes a `pending_payment` order ' +
    '`paid` (once, even if the provider’s webhook reports it at the same moment). Safe to repeat. The calls that ' +
    'ask the provider (the order still waits for its payment) are limited to 20 a minute per order: over it, 429 ' +
    '`rate_limited` with `Retry-After`.',
  middleware: [optionalCustomer()] as const,
  security: OWNER_SECURITY,
  request: { params: OrderParams, headers: OrderTokenHeaders },
  responses: {
    200: jsonContent(StoreOrderSchema, 'The order as it is now'),
    ...problems(401, 404, 422, 429, 503),
  },
});
