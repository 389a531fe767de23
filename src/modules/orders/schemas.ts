/**
 * What an order looks like to its owner (store) and to staff (admin), and the row-to-JSON functions. Both
 * surfaces share the order body; staff also see who owns it, where it came from and every transition.
 */
import { z } from '@hono/zod-openapi';
import {
  type fulfillments,
  ORDER_ACTIONS,
  ORDER_STATUSES,
  ORDER_STOCK_STATUSES,
  type orderLines,
  type orders,
  type orderTransitions,
} from '../../db/schema';
import { Timestamp } from '../../lib/catalog-fields';
import { decryptField } from '../../lib/encryption';
import { PageInfoSchema } from '../../lib/pagination';
import { postalAddressFields } from '../customers/schemas';
import { PaymentSchema, RefundSchema } from '../payments/schemas';

export type OrderRow = typeof orders.$inferSelect;
export type OrderLineRow = typeof orderLines.$inferSelect;
export type FulfillmentRow = typeof fulfillments.$inferSelect;
export type TransitionRow = typeof orderTransitions.$inferSelect;

const Money = z
  .number()
  .int()
  .openapi({ description: 'Integer minor units of the order currency', example: 2499 });

export const OrderStatusSchema = z.enum(ORDER_STATUSES).openapi('OrderStatus');

/** The shipping address as the order keeps it: the shape of a saved customer address. */
export const OrderAddressSchema = z.object(postalAddressFields).openapi('OrderAddress');
export type OrderAddress = z.infer<typeof OrderAddressSchema>;

export const OrderLineSchema = z
  .object({
    id: z.string().openapi({ example: 'oli_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    variant_id: z.string(),
    product_id: z.string(),
    sku: z.string(),
    product_title: z.string(),
    variant_title: z.string(),
    options: z.record(z.string(), z.string()),
    unit_price: Money,
    quantity: z.number().int(),
    subtotal: Money,
    discount_total: Money,
    tax_total: Money,
    total: Money,
    fulfilled_quantity: z.number().int(),
  })
  .openapi('OrderLine');

export const FulfillmentSchema = z
  .object({
    id: z.string().openapi({ example: 'ful_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    carrier: z.string(),
    tracking_number: z.string(),
    lines: z.array(z.object({ line_id: z.string(), quantity: z.number().int() })),
    created_at: Timestamp,
  })
  .openapi('Fulfillment');

const orderFields = {
  id: z.string().openapi({ example: 'ord_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
  number: z.string().openapi({ example: '7K3MQ-X2P9D' }),
  status: OrderStatusSchema,
  email: z.string(),
  currency: z.string().openapi({ example: 'EUR' }),
  lines: z.array(OrderLineSchema),
  shipping_address: OrderAddressSchema,
  shipping_method: z.object({ id: z.string(), name: z.string(), amount: Money }),
  discount: z.object({ code: z.string(), amount: Money }).nullable(),
  subtotal: Money,
  discount_total: Money,
  shipping_total: Money,
  tax_total: Money,
  total: Money,
  tax_inclusive: z.boolean().openapi({ description: 'Whether `total` includes `tax_total`' }),
  refunded_total: Money,
  fulfillments: z.array(FulfillmentSchema),
  created_at: Timestamp,
  updated_at: Timestamp,
};

export const StoreOrderSchema = z.object(orderFields).openapi('StoreOrder');
export type StoreOrder = z.infer<typeof StoreOrderSchema>;

export const OrderTransitionSchema = z
  .object({
    id: z.string().openapi({ example: 'otr_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    action: z.enum(ORDER_ACTIONS),
    from: OrderStatusSchema.nullable(),
    to: OrderStatusSchema,
    actor_type: z.string().openapi({ example: 'staff' }),
    actor_id: z.string(),
    reason: z.string().nullable(),
    at: Timestamp,
  })
  .openapi('OrderTransition');

export const OrderPaymentSchema = z
  .object({ ...PaymentSchema.shape, refunds: z.array(RefundSchema) })
  .openapi('OrderPayment');

export const AdminOrderSchema = z
  .object({
    ...orderFields,
    customer_id: z.string().nullable(),
    cart_id: z.string(),
    region_id: z.string(),
    stock_status: z.enum(ORDER_STOCK_STATUSES).openapi({
      description: '`held`: units reserved, not yet sold; `sold`; `returned`: back on hand after a cancel',
    }),
    transitions: z.array(OrderTransitionSchema),
    payments: z.array(OrderPaymentSchema),
  })
  .openapi('AdminOrder');
export type AdminOrder = z.infer<typeof AdminOrderSchema>;

const summaryFields = {
  id: z.string(),
  number: z.string(),
  status: OrderStatusSchema,
  currency: z.string(),
  total: Money,
  item_count: z.number().int().openapi({ description: 'Units across all lines' }),
  created_at: Timestamp,
};

export const StoreOrderSummarySchema = z.object(summaryFields).openapi('StoreOrderSummary');
export const StoreOrderListSchema = z
  .object({ data: z.array(StoreOrderSummarySchema), page: PageInfoSchema })
  .openapi('StoreOrderList');

export const AdminOrderSummarySchema = z
  .object({ ...summaryFields, email: z.string(), customer_id: z.string().nullable() })
  .openapi('AdminOrderSummary');
export const AdminOrderListSchema = z
  .object({ data: z.array(AdminOrderSummarySchema), page: PageInfoSchema })
  .openapi('AdminOrderList');

export const OrderParams = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'ord_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
});

function serializeLine(row: OrderLineRow): z.infer<typeof OrderLineSchema> {
  return {
    id: row.id,
    variant_id: row.variantId,
    product_id: row.productId,
    sku: row.sku,
    product_title: row.productTitle,
    variant_title: row.variantTitle,
    options: row.options,
    unit_price: row.unitPrice,
    quantity: row.quantity,
    subtotal: row.subtotal,
    discount_total: row.discountTotal,
    tax_total: row.taxTotal,
    total: row.total,
    fulfilled_quantity: row.fulfilledQuantity,
  };
}

function serializeFulfillment(row: FulfillmentRow): z.infer<typeof FulfillmentSchema> {
  return {
    id: row.id,
    carrier: row.carrier,
    tracking_number: row.trackingNumber,
    lines: row.lines,
    created_at: row.createdAt.toISOString(),
  };
}

/** An order with its lines (in position order) and fulfilments (oldest first), as the owner sees it. */
export async function serializeStoreOrder(
  env: Env,
  order: OrderRow,
  lines: OrderLineRow[],
  shipments: FulfillmentRow[],
): Promise<StoreOrder> {
  return {
    id: order.id,
    number: order.number,
    status: order.status,
    email: order.email,
    currency: order.currency,
    lines: lines.map(serializeLine),
    shipping_address: JSON.parse(await decryptField(env, order.shippingAddressEncrypted)) as OrderAddress,
    shipping_method: order.shippingMethod,
    discount: order.discount && { code: order.discount.code, amount: order.discount.amount },
    subtotal: order.subtotal,
    discount_total: order.discountTotal,
    shipping_total: order.shippingTotal,
    tax_total: order.taxTotal,
    total: order.total,
    tax_inclusive: order.taxInclusive,
    refunded_total: order.refundedTotal,
    fulfillments: shipments.map(serializeFulfillment),
    created_at: order.createdAt.toISOString(),
    updated_at: order.updatedAt.toISOString(),
  };
}

export function serializeTransition(row: TransitionRow): z.infer<typeof OrderTransitionSchema> {
  return {
    id: row.id,
    action: row.action,
    from: row.fromStatus,
    to: row.toStatus,
    actor_type: row.actorType,
    actor_id: row.actorId,
    reason: row.reason,
    at: row.at.toISOString(),
  };
}

export function serializeOrderSummary(order: OrderRow, itemCount: number) {
  return {
    id: order.id,
    number: order.number,
    status: order.status,
    currency: order.currency,
    total: order.total,
    item_count: itemCount,
    created_at: order.createdAt.toISOString(),
  };
}
