/**
 * The order side of a payment settling (src/modules/payments/settlement.ts): an order placed as
 * `pending_payment` (Stripe, waiting for the shopper) becomes `paid` in the very batch that records the payment
 * as authorized or captured. Both reports of a settlement (Stripe's webhook and the storefront's confirmation)
 * arrive here, possibly at the same moment; the payment module lets exactly one batch settle the payment, and
 * this transition's claim is ANDed with that batch's `when`, so the order is marked paid once, with one
 * `order.paid` event and one transition, whichever report wins.
 *
 * An order that is no longer waiting (already paid, or canceled by staff, whose cancel voided the payment
 * first) is left alone.
 */
import { eq } from 'drizzle-orm';
import { orders } from '../../db/schema';
import type { OnPaymentSettled } from '../payments/settlement';
import { orderPaidEvent, regionCodeOf } from './events';
import { transitionOrder } from './transitions';

export const markOrderPaidOnSettlement: OnPaymentSettled = async (db, settled, when, caller) => {
  if (settled.orderId === null) return { statements: [] };
  const order = await db.select().from(orders).where(eq(orders.id, settled.orderId)).get();
  if (order?.status !== 'pending_payment') return { statements: [] };
  const reason = `${settled.provider} payment ${settled.status} (${settled.via})`;
  const transition = transitionOrder(db, caller, order, { action: 'pay', to: 'paid', reason }, when);
  return {
    statements: [transition.claim, transition.record],
    events: [
      orderPaidEvent(order, await regionCodeOf(db, order.regionId), {
        id: settled.paymentId,
        via: settled.via,
      }),
    ],
  };
};
