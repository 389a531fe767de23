/**
 * Checkout: a cart becomes an order, exactly once, without overselling. The steps, and what happens if the
 * Worker dies right after each (docs/ARCHITECTURE.md, "Checkout"):
 *
 * 0. Checks: the cart is the caller's, priced now (the cheapest applicable shipping option when none was
 *    chosen), complete (orderDraftOf), and no line whose hold lapsed is plainly sold out (refuseSoldOut, a
 *    read). Nothing is written if they fail.
 * 1. Lock the cart (`checking_out`, carts/checkout-hooks.ts) with a `cart.checkout_started` event, only if
 *    it is unchanged since it was priced (else 409 `cart_changed`): from now on the shopper cannot change it.
 *    Died: the lock is abandoned after CHECKOUT_LOCK_TTL_MS and the cart reopens on the shopper's next write.
 * 2. Hold every line, all or nothing (./holds.ts). Died: the holds expire (the InventoryItem alarm).
 * 3. Authorize the total. Died: no order and no payment record; the provider's authorization is never captured
 *    (Stripe releases it after 7 days; manual moves no money), and a retry with the same Idempotency-Key reaches
 *    the same provider payment (its key derives from the client's) instead of a second one.
 * 4. ONE batch: cart completed (only while our lock holds), order + lines + first transition, payment record,
 *    discount redemption (only while the code has uses left), `order.created` (+ `order.paid`) and payment
 *    events, the idempotency record with this very response. Died: the order exists with its units `held`; the
 *    stock sweep sells them within about a minute.
 * 5. Sell the held units (a follow-up; ./orders/cancel.ts sellOrderStock). Died: the sweep does it; selling is
 *    idempotent per reservation.
 *
 * Any refusal after step 1 undoes what came before it: the authorization is voided, the holds released, the
 * cart unlocked. Except when another request took our Idempotency-Key over: it owns this checkout now.
 */
import { eq } from 'drizzle-orm';
import { carts } from '../../db/schema';
import { type Caller, callerLogger, systemCaller } from '../../lib/caller';
import { commit, type DomainEvent } from '../../lib/commit';
import { constraintFailure } from '../../lib/d1-writes';
import { createDb, type Database } from '../../lib/db';
import { AppError, conflict } from '../../lib/errors';
import { type IdempotencyClaim, idempotencyRecord } from '../../lib/idempotency';
import { newId } from '../../lib/ids';
import { describeError } from '../../lib/logger';
import { type CartRow, cartForShopper, type Shopper } from '../carts/access';
import {
  completeCartStatement,
  forgetLineHolds,
  lockCartForCheckout,
  unlockCart,
} from '../carts/checkout-hooks';
import { type LocaleChains, priceCart } from '../carts/load';
import { isWritable } from '../carts/write-guard';
import { assertDiscountRedeemable, discountRedemptionStatement } from '../discounts/redemption';
import { sellOrderStock } from '../orders/cancel';
import { orderCreatedEvent, orderPaidEvent } from '../orders/events';
import { type OrderDraft, type PlacedOrder, placeOrder } from '../orders/place';
import { serializeStoreOrder } from '../orders/schemas';
import { paymentDeclined } from '../payments/errors';
import { providerKey } from '../payments/provider-keys';
import { chooseProvider, paymentProvider } from '../payments/providers';
import { type AuthorizePaymentResult, authorizePayment } from '../payments/service';
import { orderDraftOf } from './draft';
import { holdAll, refuseSoldOut, releaseHolds } from './holds';
import type { CheckoutInput, CheckoutResult } from './schemas';

type Authorized = Exclude<AuthorizePaymentResult, { status: 'declined' }>;

export type CheckoutRequest = CheckoutInput & {
  cartId: string;
  shopper: Shopper;
  locales: LocaleChains;
  idempotency: IdempotencyClaim;
};

const cartNotOpen = (cart: CartRow) =>
  cart.status === 'completed'
    ? conflict('cart_completed', 'This cart has already been checked out.')
    : conflict('cart_not_open', `A cart that is ${cart.status.replace('_', ' ')} cannot be checked out.`);

const checkoutInProgress = () =>
  conflict('checkout_in_progress', 'This cart is being checked out by another request; wait for it.');

const cartChanged = () =>
  conflict('cart_changed', 'The cart changed while it was being checked out; review it and try again.');

/** Why the lock took no row: another checkout holds the cart, or the shopper changed it after it was priced. */
async function lockRefusal(db: Database, cartId: string, now: Date): Promise<AppError> {
  const row = await db.select().from(carts).where(eq(carts.id, cartId)).get();
  if (row?.status === 'checking_out' && !isWritable(row, now)) return checkoutInProgress();
  if (row && row.status !== 'open' && row.status !== 'checking_out') return cartNotOpen(row);
  return cartChanged();
}

/** Why the order's batch failed, now that the winner's writes are visible (commit's recheck). */
async function recheckPlacement(
  db: Database,
  cart: CartRow,
  lockedAt: Date,
  draft: OrderDraft,
): Promise<void> {
  if (draft.discount) {
    await assertDiscountRedeemable(db, {
      discountId: draft.discount.id,
      customerId: draft.customerId,
      email: draft.email,
      at: lockedAt,
    });
  }
  const now = await db.select().from(carts).where(eq(carts.id, cart.id)).get();
  if (now?.status === 'completed') throw cartNotOpen(now);
  if (now?.status !== 'checking_out' || now.checkoutStartedAt?.getTime() !== lockedAt.getTime()) {
    throw cartChanged();
  }
}

function orderEvents(placed: PlacedOrder, placement: Placement): DomainEvent[] {
  const { order, lines } = placed;
  const created = orderCreatedEvent(order, lines, placement.draft.regionCode, placement.locale);
  if (order.status !== 'paid') return [created];
  const payment = { id: placement.authorization?.payment.id ?? null, via: 'checkout' as const };
  return [created, orderPaidEvent(order, placement.draft.regionCode, payment)];
}

export async function checkout(env: Env, caller: Caller, request: CheckoutRequest): Promise<CheckoutResult> {
  const db = createDb(env.DB);
  const logger = callerLogger(caller);
  const cart = await cartForShopper(db, request.cartId, request.shopper);
  if (cart.status !== 'open' && cart.status !== 'checking_out') throw cartNotOpen(cart);
  const provider = chooseProvider(env, request.provider);
  const lockedAt = new Date();
  const loaded = await priceCart(env, db, cart, {
    locales: request.locales,
    shipping: 'chosen_or_cheapest',
    now: lockedAt,
  });
  const draft = await orderDraftOf(db, loaded, 'paid');
  const heldUntil = new Map(loaded.lines.map((l) => [l.row.variantId, l.row.reservationExpiresAt]));
  await refuseSoldOut(
    env,
    draft.lines.map((line) => ({ ...line, heldUntil: heldUntil.get(line.variantId) ?? null })),
    lockedAt,
  );

  // 1. Lock the cart.
  const [locked] = await commit(db, caller, {
    conditional: true,
    statements: [lockCartForCheckout(db, cart, lockedAt)],
    events: [
      {
        type: 'cart.checkout_started',
        aggregateType: 'cart',
        aggregateId: cart.id,
        payload: {
          id: cart.id,
          customer_id: cart.customerId,
          region: draft.regionCode,
          currency: draft.currency,
          total: draft.total,
        },
      },
    ],
  });
  if (locked.length === 0) throw await lockRefusal(db, cart.id, lockedAt);

  const orderId = newId('ord', lockedAt.getTime());
  let authorization: Authorized | null = null;
  const undo = async () => {
    const steps: Promise<unknown>[] = [
      releaseHolds(env, draft.lines),
      commit(db, caller, {
        conditional: true,
        statements: [forgetLineHolds(db, cart.id, lockedAt), unlockCart(db, cart.id, lockedAt)],
      }),
    ];
    if (authorization) {
      const key = await providerKey('void', cart.id, [authorization.payment.id, request.idempotency.key]);
      steps.push(paymentProvider(env, provider, logger).cancel(authorization.payment.providerRef, key));
    }
    for (const result of await Promise.allSettled(steps)) {
      // Each undo step is also undone by time (holds expire, the lock lapses): log, never mask the refusal.
      if (result.status === 'rejected')
        logger.error('checkout undo step failed', describeError(result.reason));
    }
  };

  try {
    // 2. Hold every line.
    await holdAll(env, cart.id, draft.lines);
    // 3. Authorize the total (a free order needs no payment).
    if (draft.total > 0) {
      const result = await authorizePayment(db, env, caller, {
        provider,
        cartId: cart.id,
        orderId,
        amount: draft.total,
        currency: draft.currency,
        idempotencyKey: request.idempotency.key,
        email: draft.email,
        paymentMethod: request.payment_method,
      });
      if (result.status === 'declined') throw paymentDeclined();
      authorization = result;
    }
    // 4. The batch.
    return await placeAndCommit(env, db, caller, request, {
      cart,
      locale: request.locales(draft.regionId)[0] ?? null,
      lockedAt,
      orderId,
      draft,
      authorization,
    });
  } catch (error) {
    if (!(error instanceof AppError && error.code === 'idempotency_key_in_use')) await undo();
    throw error;
  }
}

type Placement = {
  cart: CartRow;
  /** For the events: the shopper's first locale in the region. */
  locale: string | null;
  lockedAt: Date;
  orderId: string;
  draft: OrderDraft;
  authorization: Authorized | null;
};

/** Step 4 (and 5, as its follow-up). A clash of random order numbers is retried once with a new number. */
async function placeAndCommit(
  env: Env,
  db: Database,
  caller: Caller,
  request: CheckoutRequest,
  placement: Placement,
): Promise<CheckoutResult> {
  const { cart, lockedAt, orderId, draft, authorization } = placement;
  const status = authorization?.status === 'requires_action' ? 'pending_payment' : 'paid';
  const reason = authorization
    ? `${authorization.payment.provider} payment ${authorization.status}`
    : 'nothing to pay';
  for (let attempt = 1; ; attempt++) {
    const placed = await placeOrder(
      env,
      db,
      caller,
      { ...draft, status, reason },
      { id: orderId, now: lockedAt },
    );
    const body: CheckoutResult = {
      order: await serializeStoreOrder(env, placed.order, placed.lines, []),
      ...(placed.token ? { order_token: placed.token } : {}),
      payment: authorization && {
        id: authorization.payment.id,
        provider: authorization.payment.provider,
        status: authorization.payment.status,
        client_secret: authorization.clientSecret,
      },
    };
    try {
      await commit(db, caller, {
        statements: [
          completeCartStatement(db, cart.id, lockedAt, orderId, lockedAt),
          ...placed.statements,
          ...(authorization?.writes.statements ?? []),
          ...(draft.discount
            ? [
                discountRedemptionStatement(db, {
                  discountId: draft.discount.id,
                  orderId,
                  customerId: draft.customerId,
                  email: draft.email,
                  at: lockedAt,
                }),
              ]
            : []),
        ],
        events: [...orderEvents(placed, placement), ...(authorization?.writes.events ?? [])],
        idempotency: idempotencyRecord(request.idempotency, 201, body),
        recheck: () => recheckPlacement(db, cart, lockedAt, draft),
        afterCommit: [
          {
            name: 'checkout.sell_stock',
            run: () => sellOrderStock(env, systemCaller('checkout', caller.meta.requestId), orderId),
          },
        ],
      });
      return body;
    } catch (error) {
      if (attempt === 1 && constraintFailure(error)?.columns === 'orders.number') continue;
      throw error;
    }
  }
}
