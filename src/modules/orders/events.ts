/**
 * The payloads of the order events that carry money (docs/EVENTS.md): built here from the order's rows, so
 * checkout, the payment settlement and staff refunds send the same shape, the one the email and analytics
 * consumers read without reading the order back.
 */
import { eq } from 'drizzle-orm';
import { regions } from '../../db/schema';
import type { DomainEvent } from '../../lib/commit';
import type { Database } from '../../lib/db';
import type { OrderLineRow, OrderRow } from './schemas';

type OrderCreated = Extract<DomainEvent, { type: 'order.created' }>;
type OrderPaid = Extract<DomainEvent, { type: 'order.paid' }>;
type OrderMoney = Pick<OrderPaid['payload'], 'id' | 'region' | 'country' | 'currency'>;

/** Orders keep the region's id (codes can be renamed); events name the region by its code, as shoppers do. */
export async function regionCodeOf(db: Database, regionId: string): Promise<string> {
  const region = await db.select({ code: regions.code }).from(regions).where(eq(regions.id, regionId)).get();
  // A region is never deleted while orders name it; its id is still a stable answer if it ever were.
  return region?.code ?? regionId;
}

/** Where the order was placed and in what money: what every money event of an order starts with. */
export function orderMoneyOf(order: OrderRow, regionCode: string): OrderMoney {
  return { id: order.id, region: regionCode, country: order.shippingCountry, currency: order.currency };
}

/**
 * What a cancel's audit entry and `order.canceled` carry besides the transition: the order's money, and what it
 * releases. What order.paid counted is released (voided, or refunded if captured); a pending order counted none.
 */
export function orderCanceledMoney(order: OrderRow, regionCode: string): OrderMoney & { amount: number } {
  return { ...orderMoneyOf(order, regionCode), amount: order.status === 'paid' ? order.total : 0 };
}

export function orderCreatedEvent(
  order: OrderRow,
  lines: OrderLineRow[],
  regionCode: string,
  locale: string | null,
): OrderCreated {
  return {
    type: 'order.created',
    aggregateType: 'order',
    aggregateId: order.id,
    payload: {
      ...orderMoneyOf(order, regionCode),
      customer_id: order.customerId,
      email: order.email,
      locale,
      subtotal: order.subtotal,
      discount_total: order.discountTotal,
      shipping_total: order.shippingTotal,
      tax_total: order.taxTotal,
      total: order.total,
      items: lines.map((line) => ({
        variant_id: line.variantId,
        sku: line.sku,
        title: line.variantTitle ? `${line.productTitle} (${line.variantTitle})` : line.productTitle,
        quantity: line.quantity,
        unit_price: line.unitPrice,
        total: line.total,
      })),
    },
  };
}

export function orderPaidEvent(
  order: OrderRow,
  regionCode: string,
  payment: { id: string | null; via: OrderPaid['payload']['via'] },
): OrderPaid {
  return {
    type: 'order.paid',
    aggregateType: 'order',
    aggregateId: order.id,
    payload: {
      ...orderMoneyOf(order, regionCode),
      amount: order.total,
      payment_id: payment.id,
      via: payment.via,
    },
  };
}
