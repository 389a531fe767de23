/**
 * Orders placed through real checkout (its route, the inventory objects, the payment provider as configured or
 * faked), and the reads tests of what happens to them afterwards assert on. A test file using them seeds the
 * regions and the `eu` shipping option first (`seedRegions`, `shippingOption('eu', { amount: 500 })`).
 */
import { expect } from 'vitest';
import { admin, rows } from './admin-fixtures';
import { stockedProduct } from './carts';
import { type CheckoutBody, checkoutCall, readyCart } from './checkout';

export type AdminOrder = {
  status: string;
  refunded_total: number;
  stock_status: string;
  lines: { id: string }[];
  payments: {
    status: string;
    amount: number;
    amount_captured: number;
    amount_refunded: number;
    refunds: { amount: number }[];
  }[];
};

export type PlacedOrder = {
  id: string;
  variantId: string;
  /** The guest's order token (X-Order-Token). */
  token: string;
  paymentId: string;
  /** The provider's reference of the payment (Stripe: the PaymentIntent id). */
  providerRef: string;
};

/** An order of 2 x 10.00 + 5.00 shipping (25.00) of a variant with 5 on hand, placed with checkout body `body`. */
async function placed(body: Record<string, unknown>): Promise<PlacedOrder> {
  const made = await stockedProduct({ variants: [{ prices: { EUR: 1000 } }] }, 5);
  const variantId = made.variants[0]?.id as string;
  const { cartId, who } = await readyCart([{ variantId, quantity: 2 }]);
  const res = await checkoutCall(cartId, who, crypto.randomUUID(), body);
  expect(res.status, await res.clone().text()).toBe(201);
  const order = (await res.json()) as CheckoutBody;
  const [payment] = await rows('SELECT id, provider_ref FROM payments WHERE order_id = ?', order.order.id);
  return {
    id: order.order.id,
    variantId,
    token: order.order_token as string,
    paymentId: payment?.id as string,
    providerRef: payment?.provider_ref as string,
  };
}

/** A paid order (authorized at checkout: the manual provider, or Stripe with a card it confirms at once). */
export function paidOrder(provider: 'manual' | 'stripe' = 'manual'): Promise<PlacedOrder> {
  return placed(provider === 'stripe' ? { provider, payment_method: 'pm_card_visa' } : {});
}

/** A Stripe order waiting for the shopper to pay in the browser (`pending_payment`). */
export function pendingStripeOrder(): Promise<PlacedOrder> {
  return placed({ provider: 'stripe' });
}

/** The order as staff read it (GET /v1/admin/orders/{id}). */
export async function adminOrder(id: string): Promise<AdminOrder> {
  const res = await admin('GET', `/orders/${id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as AdminOrder;
}

/** The outbox event types raised for these aggregates, oldest first. */
export const eventTypes = async (aggregateType: string, ids: string[]) =>
  (
    await rows(
      `SELECT type FROM outbox_events WHERE aggregate_type = ? AND aggregate_id IN (${ids.map(() => '?').join(',')}) ORDER BY rowid`,
      aggregateType,
      ...ids,
    )
  ).map((r) => r.type as string);
