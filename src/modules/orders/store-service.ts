/**
 * The shopper's one write on an order: after paying in the browser (Stripe.js), the storefront asks us to look.
 * The payment module asks the provider and records what it says (payments/service.ts syncPayment); if that
 * settles the payment, the order becomes paid in the same batch (./settlement.ts). A Stripe webhook reporting
 * the same settlement at the same moment changes nothing more: one of the two records it, once. Calling again
 * is harmless (a settled payment is not asked about again), so it needs no Idempotency-Key. Each call that asks
 * the provider counts against a per-order limit: Stripe's rate limit is the whole store's, and a shopper looping
 * on this route must not spend it (nor trip the provider's circuit breaker for every checkout).
 */
import type { Caller } from '../../lib/caller';
import { createDb } from '../../lib/db';
import { rateLimit } from '../../middleware/rate-limit';
import { syncPayment } from '../payments/service';
import { UNSETTLED } from '../payments/transitions';
import { activePayment } from './order-payments';
import type { StoreOrder } from './schemas';
import { markOrderPaidOnSettlement } from './settlement';
import { type OrderProof, ownOrder, readOwnOrder } from './store-read';

export async function confirmOrderPayment(
  env: Env,
  caller: Caller,
  orderId: string,
  proof: OrderProof,
): Promise<StoreOrder> {
  const db = createDb(env.DB);
  const order = await ownOrder(db, orderId, proof);
  const payment = await activePayment(db, order.id);
  if (order.status === 'pending_payment' && payment && UNSETTLED.includes(payment.status)) {
    await rateLimit('PAYMENT_CONFIRM_RATE_LIMITER', `order:${order.id}`, { env });
    await syncPayment(db, env, caller, {
      paymentId: payment.id,
      onPaymentSettled: markOrderPaidOnSettlement,
    });
  }
  return readOwnOrder(env, orderId, proof);
}
