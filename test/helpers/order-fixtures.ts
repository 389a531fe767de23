/**
 * Orders placed straight into D1 with the orders module's own placeOrder (the rows checkout writes), for tests
 * of what happens to orders afterwards. A status past the placed ones is set directly, as if its transitions
 * had happened.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { type OrderStatus, orders } from '../../src/db/schema';
import { systemCaller } from '../../src/lib/caller';
import { createDb } from '../../src/lib/db';
import { type OrderDraft, placeOrder } from '../../src/modules/orders/place';
import { authorizePayment } from '../../src/modules/payments/service';
import { commitWrites } from './payments';
import { unique, uniqueEmail } from './unique';

export const ORDER_ADDRESS = {
  first_name: 'Ada',
  last_name: 'Lovelace',
  company: null,
  line1: 'Unter den Linden 1',
  line2: null,
  city: 'Berlin',
  postal_code: '10117',
  province: null,
  country_code: 'DE',
  phone: '+49 30 1234567',
};

/** Two lines (2 x 10.00 and 1 x 25.00 EUR, tax included at 19%) and 4.90 shipping. */
export function orderDraft(overrides: Partial<OrderDraft> = {}): OrderDraft {
  const cartId = overrides.cartId ?? unique('cart');
  return {
    cartId,
    customerId: null,
    email: uniqueEmail(),
    regionId: 'reg_test',
    regionCode: 'test',
    currency: 'EUR',
    status: 'paid',
    shippingAddress: ORDER_ADDRESS,
    shippingMethod: { id: 'so_standard', name: 'Standard', amount: 490 },
    discount: null,
    lines: [
      {
        variantId: 'var_mug_blue',
        productId: 'prod_mug',
        sku: unique('MUG-BLUE'),
        reservationId: `${cartId}:var_mug_blue`,
        productTitle: 'Mug',
        variantTitle: 'Blue',
        options: { Color: 'Blue' },
        unitPrice: 1000,
        quantity: 2,
        subtotal: 2000,
        discountTotal: 0,
        taxTotal: 319,
        total: 2000,
      },
      {
        variantId: 'var_teapot',
        productId: 'prod_teapot',
        sku: unique('TEAPOT'),
        reservationId: `${cartId}:var_teapot`,
        productTitle: 'Teapot',
        variantTitle: 'Default',
        options: {},
        unitPrice: 2500,
        quantity: 1,
        subtotal: 2500,
        discountTotal: 0,
        taxTotal: 399,
        total: 2500,
      },
    ],
    subtotal: 4500,
    discountTotal: 0,
    shippingTotal: 490,
    taxTotal: 796,
    total: 4990,
    taxInclusive: true,
    ...overrides,
  };
}

export type PlacedFixture = Awaited<ReturnType<typeof placeOrder>>;

/** Places an order into D1; `status` beyond the placed ones and `createdAt` are written afterwards. */
export async function insertOrder(
  overrides: Partial<Omit<OrderDraft, 'status'>> & { status?: OrderStatus; createdAt?: Date } = {},
): Promise<PlacedFixture> {
  const db = createDb(env.DB);
  const { status = 'paid', createdAt, ...draft } = overrides;
  const placedStatus = status === 'pending_payment' ? 'pending_payment' : 'paid';
  const placed = await placeOrder(
    env,
    db,
    systemCaller('checkout', `run-${crypto.randomUUID()}`),
    orderDraft({ ...draft, status: placedStatus }),
    { now: createdAt },
  );
  const [first, ...rest] = placed.statements;
  if (!first) throw new Error('placeOrder wrote nothing');
  await db.batch([first, ...rest]);
  if (status !== placedStatus) {
    await db.update(orders).set({ status }).where(eq(orders.id, placed.order.id));
    placed.order.status = status;
  }
  return placed;
}

/**
 * A paid order as checkout leaves it: placed as insertOrder does, its total authorized with the manual provider
 * (no money moves), so that the first fulfilment has a payment to capture.
 */
export async function insertAuthorizedOrder(
  overrides: Parameters<typeof insertOrder>[0] = {},
): Promise<PlacedFixture> {
  const placed = await insertOrder(overrides);
  const caller = systemCaller('checkout', `run-${crypto.randomUUID()}`);
  const authorized = await authorizePayment(createDb(env.DB), env, caller, {
    provider: 'manual',
    cartId: placed.order.cartId,
    orderId: placed.order.id,
    amount: placed.order.total,
    currency: placed.order.currency,
    idempotencyKey: crypto.randomUUID(),
  });
  if (authorized.status === 'declined') throw new Error('the manual provider does not decline');
  await commitWrites(caller, authorized.writes);
  return placed;
}
