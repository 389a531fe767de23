import { adminRoute } from '../../auth/permissions';
import type { AdminEnv } from '../../lib/app-env';
import {
  idempotencyKeyHeaders,
  jsonBody,
  jsonContent,
  problems,
  recordedKeySemantics,
} from '../../lib/openapi';
import type { Permission } from '../../lib/permissions';
import { acceptIdempotencyKey } from '../../middleware/idempotency';
import { getAdminOrder } from './admin-read';
import { AdminOrderListQuery, CancelBody, FulfilBody, RefundBody } from './admin-schemas';
import { AdminOrderListSchema, AdminOrderSchema, OrderParams } from './schemas';

const tags = ['Admin: orders'];

/**
 * A staff action on an order, which takes an Idempotency-Key (a refund or a partial fulfilment retried after a
 * lost answer would otherwise happen twice). Keys are per caller; the answer is read after the commit, so a
 * replay gives the first status with the order as it is now.
 */
const orderAction = <const R extends Parameters<typeof adminRoute>[1]>(permission: Permission, route: R) =>
  adminRoute(
    permission,
    route,
    acceptIdempotencyKey<AdminEnv>({
      scope: (c) => `${c.var.principal.type}:${c.var.principal.id}`,
      replayAs: (c) => getAdminOrder(c.env, c.req.param('id') ?? ''),
    }),
  );
const OptionalIdempotencyKey = idempotencyKeyHeaders(
  false,
  recordedKeySemantics('the first status with the order as it is now'),
);

export const listOrders = adminRoute('orders:read', {
  method: 'get',
  path: '/orders',
  tags,
  summary: 'List orders, newest first; filter by status, customer, email, time, or search by number or email',
  request: { query: AdminOrderListQuery },
  responses: { 200: jsonContent(AdminOrderListSchema, 'A page of orders'), ...problems(401, 403, 422) },
});

export const getOrder = adminRoute('orders:read', {
  method: 'get',
  path: '/orders/{id}',
  tags,
  summary: 'An order with its lines, fulfilments and every transition',
  request: { params: OrderParams },
  responses: { 200: jsonContent(AdminOrderSchema, 'The order'), ...problems(401, 403, 404) },
});

export const fulfilOrder = orderAction('orders:write', {
  method: 'post',
  path: '/orders/{id}/fulfillments',
  tags,
  summary: 'Ship some or all of what is left: the order becomes partially fulfilled or fulfilled',
  description:
    'The first fulfilment captures the authorized payment in full; an order with a total and no authorized or ' +
    'captured payment is refused with 409 `payment_not_capturable` (an authorization the provider cancels ' +
    'cancels its paid order, which then answers 409 `invalid_transition`; this is a void whose cancel was lost).',
  request: { params: OrderParams, headers: OptionalIdempotencyKey, body: jsonBody(FulfilBody) },
  responses: {
    201: jsonContent(AdminOrderSchema, 'The order with the new fulfilment'),
    ...problems(400, 401, 403, 404, 409, 415, 422, 503),
  },
});

export const markDelivered = orderAction('orders:write', {
  method: 'post',
  path: '/orders/{id}/deliver',
  tags,
  summary: 'Mark a fulfilled order delivered',
  request: { params: OrderParams, headers: OptionalIdempotencyKey },
  responses: { 200: jsonContent(AdminOrderSchema, 'The order'), ...problems(400, 401, 403, 404, 409, 422) },
});

export const cancelOrder = orderAction('orders:write', {
  method: 'post',
  path: '/orders/{id}/cancel',
  tags,
  summary: 'Cancel an order that has not shipped: its payment is voided (or refunded) and its units go back',
  description:
    'An order whose payment was already captured (in the provider’s dashboard, or by a method captured at ' +
    'once) is refunded by its cancel, which also needs the `orders:refund` permission: without it, 403 ' +
    '`forbidden` and nothing changes. The order’s discount code, if any, gets its use back: its limits no ' +
    'longer count the order.',
  request: {
    params: OrderParams,
    headers: OptionalIdempotencyKey,
    body: { ...jsonBody(CancelBody), required: false },
  },
  responses: {
    200: jsonContent(AdminOrderSchema, 'The canceled order'),
    ...problems(400, 401, 403, 404, 409, 415, 422, 503),
  },
});

export const refundOrder = orderAction('orders:refund', {
  method: 'post',
  path: '/orders/{id}/refunds',
  tags,
  summary: 'Refund part or all of what was charged (payment is taken at the first fulfilment)',
  description:
    'An amount the payment provider cannot state in the order’s currency is 422 `invalid_amount`, with nothing ' +
    'sent: Stripe takes three-decimal currencies (KWD, BHD, JOD, OMR, TND) only in tens.',
  request: {
    params: OrderParams,
    headers: OptionalIdempotencyKey,
    body: { ...jsonBody(RefundBody), required: false },
  },
  responses: {
    201: jsonContent(AdminOrderSchema, 'The order with the refund'),
    ...problems(400, 401, 403, 404, 409, 415, 422, 503),
  },
});
