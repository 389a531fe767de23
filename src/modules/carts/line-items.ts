/**
 * Adding, changing and removing cart lines, with their stock holds (reservations.ts).
 *
 * Adding or raising a line first sets its reservation to the new quantity (not enough stock: 409
 * `out_of_stock` with `available`, and nothing is written), then writes the line in one batch that ends with
 * the write guard. If the batch fails (the cart was locked for checkout meanwhile, a limit was reached by a
 * concurrent request), the reservation is set back to what the line holds then (`restoreHold`). Lowering a line
 * and removing it change the reservation only after the batch commits (a follow-up: retried, logged; a lowered
 * line is held at what it has then, read again, `holdCommittedLines`): checkout
 * holds the lines with the same reservation ids, so a request that read the cart before checkout locked it must
 * not free units the order is about to sell.
 *
 * Adding a variant the cart already has adds to its line, in SQL (`quantity + n`), so two concurrent adds both
 * count; if the line then holds more than was reserved, the reservation is raised to match.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import { cartLines, prices, products, productTranslations, variants } from '../../db/schema';
import { type Caller, callerLogger } from '../../lib/caller';
import { commit, type DomainEvent } from '../../lib/commit';
import { createDb, type Database } from '../../lib/db';
import { AppError } from '../../lib/errors';
import { type IdempotencyClaim, idempotencyRecord } from '../../lib/idempotency';
import { newId } from '../../lib/ids';
import { localeRank } from '../../lib/locale-sql';
import { describeError } from '../../lib/logger';
import type { CartRow } from './access';
import { MAX_CART_LINES, MAX_CART_QUANTITY, MAX_LINE_QUANTITY } from './limits';
import { cartCurrency, type LoadedCart, type LocaleChains, priceCart } from './load';
import { holdLine, outOfStock, releaseLine } from './reservations';
import {
  afterGuard,
  assertWritable,
  cartWriteGuard,
  type GuardStamp,
  limitExceeded,
  recheckCartWrite,
} from './write-guard';

export type LineQuantity = { id: string; variantId: string; quantity: number };

const linesChanged = (cartId: string): DomainEvent[] => [
  {
    type: 'cart.updated',
    aggregateType: 'cart',
    aggregateId: cartId,
    payload: { id: cartId, fields: ['line_items'] },
  },
];

export function quantitiesOf(db: Database, cartId: string): Promise<LineQuantity[]> {
  return db
    .select({ id: cartLines.id, variantId: cartLines.variantId, quantity: cartLines.quantity })
    .from(cartLines)
    .where(eq(cartLines.cartId, cartId))
    .all();
}

/** 422s for a cart whose lines would become `lines` (`changed` among them, sent at `pointer`). */
export function assertWithinLimits(
  lines: LineQuantity[],
  changed: LineQuantity | null,
  pointer?: string,
): void {
  if (changed && changed.quantity > MAX_LINE_QUANTITY) {
    throw limitExceeded('line_quantity_limit', `A line holds at most ${MAX_LINE_QUANTITY} units.`, pointer);
  }
  if (lines.length > MAX_CART_LINES) {
    throw limitExceeded(
      'cart_line_limit',
      `A cart holds at most ${MAX_CART_LINES} different items.`,
      pointer,
    );
  }
  if (lines.reduce((sum, line) => sum + line.quantity, 0) > MAX_CART_QUANTITY) {
    throw limitExceeded('cart_quantity_limit', `A cart holds at most ${MAX_CART_QUANTITY} units.`, pointer);
  }
}

/** The lines after adding `quantity` of `variantId`, checked against the limits. */
function assertAddition(lines: LineQuantity[], variantId: string, quantity: number): LineQuantity {
  const current = lines.find((line) => line.variantId === variantId);
  const changed = { id: current?.id ?? 'new', variantId, quantity: (current?.quantity ?? 0) + quantity };
  const after = [...lines.filter((line) => line !== current), changed];
  assertWithinLimits(after, changed, current ? '/body/quantity' : '/body/variant_id');
  return changed;
}

/** Runs `work` (setting a hold back) and logs instead of throwing: the request's own error matters more. */
async function bestEffort(caller: Caller, what: string, work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    callerLogger(caller).error('reservation follow-up failed', { follow_up: what, ...describeError(error) });
  }
}

/** The variant as a line shows it, priced in `currency`, or the 422 saying why it cannot be added. */
async function variantForLine(db: Database, cart: CartRow, variantId: string, localeChain: string[]) {
  const row = await db
    .select({
      sku: variants.sku,
      variantTitle: variants.title,
      productStatus: products.status,
      amount: prices.amount,
      title: sql<string>`coalesce((SELECT ${productTranslations.title} FROM ${productTranslations}
        WHERE ${productTranslations.productId} = ${products.id}
        ORDER BY ${localeRank(productTranslations.locale, localeChain)}, ${productTranslations.locale} LIMIT 1),
        ${products.handle})`,
    })
    .from(variants)
    .innerJoin(products, eq(products.id, variants.productId))
    .leftJoin(
      prices,
      and(
        eq(prices.variantId, variants.id),
        eq(prices.currencyCode, cartCurrency(cart.regionId, cart.currencyCode)),
      ),
    )
    .where(eq(variants.id, variantId))
    .get();
  const pointer = [
    { pointer: '/body/variant_id', message: 'Use a variant of an active product in the region' },
  ];
  if (!row)
    throw new AppError(422, 'variant_not_found', `There is no variant ${variantId}.`, { errors: pointer });
  if (row.productStatus !== 'active' || row.amount === null || cart.regionId === null) {
    throw new AppError(422, 'variant_unavailable', 'This variant is not sold in the cart’s region.', {
      errors: pointer,
    });
  }
  return row;
}

export async function addLineItem(
  env: Env,
  caller: Caller,
  cart: CartRow,
  input: { variant_id: string; quantity: number },
  locales: LocaleChains,
  idempotency?: IdempotencyClaim,
): Promise<LoadedCart> {
  const db = createDb(env.DB);
  const now = new Date();
  assertWritable(cart, now);
  const variant = await variantForLine(db, cart, input.variant_id, locales(cart.regionId));
  const lines = await quantitiesOf(db, cart.id);
  const { quantity } = assertAddition(lines, input.variant_id, input.quantity);

  const hold = await holdLine(env, cart.id, input.variant_id, quantity);
  if (!hold.ok) throw outOfStock(hold.available);
  const snapshot = { sku: variant.sku, productTitle: variant.title, variantTitle: variant.variantTitle };
  let written: { quantity: number }[];
  let after: CartRow;
  try {
    let stamped: GuardStamp;
    [written, stamped] = await commit(db, caller, {
      conditional: true,
      statements: [
        db
          .insert(cartLines)
          .values({
            id: newId('cli'),
            cartId: cart.id,
            variantId: input.variant_id,
            quantity: input.quantity,
            reservationExpiresAt: hold.expiresAt,
            ...snapshot,
            createdAt: now,
            updatedAt: now,
          })
          .onConflictDoUpdate({
            target: [cartLines.cartId, cartLines.variantId],
            set: {
              quantity: sql`${cartLines.quantity} + excluded.quantity`,
              reservationExpiresAt: hold.expiresAt,
              ...snapshot,
              updatedAt: now,
            },
          })
          .returning({ quantity: cartLines.quantity }),
        cartWriteGuard(db, cart.id, now),
      ],
      events: linesChanged(cart.id),
      // The answer is the cart as priced after the batch: a replay prices it again (routes.ts).
      idempotency: idempotencyRecord(idempotency, 200, null),
      recheck: () =>
        recheckCartWrite(db, [cart.id], now, async () => {
          assertAddition(await quantitiesOf(db, cart.id), input.variant_id, input.quantity);
        }),
    });
    // Inside: a cart deleted meanwhile (404) gives its raised hold back too.
    after = afterGuard(cart, stamped);
  } catch (error) {
    await restoreHold(env, caller, cart.id, input.variant_id, error);
    throw error;
  }
  const final = written[0]?.quantity;
  if (final !== undefined && final !== quantity) {
    await bestEffort(caller, 'raise hold', () => holdLine(env, cart.id, input.variant_id, final));
  }
  return priceCart(env, db, after, { locales, now });
}

/**
 * After a raise whose batch failed: the line's hold set back to what the line holds NOW, read again (another
 * request may have added to it meanwhile, and checkout holds it with the same id), or released when the line or
 * its cart is gone. Setting back what this request read instead would free what that other request holds.
 */
async function restoreHold(env: Env, caller: Caller, cartId: string, variantId: string, error: unknown) {
  await bestEffort(caller, 'restore hold', async () => {
    const lines = cartGone(error) ? [] : await quantitiesOf(createDb(env.DB), cartId);
    const line = lines.find((l) => l.variantId === variantId);
    return line ? holdLine(env, cartId, variantId, line.quantity) : releaseLine(env, cartId, variantId);
  });
}

/**
 * Whether a write failed because its cart went meanwhile (retention deleted it): its line's hold is given up
 * then, not restored, as nothing could release a hold for a cart that is gone.
 */
const cartGone = (error: unknown) => error instanceof AppError && error.code === 'cart_not_found';

/**
 * Sets the hold of each of the cart's lines of `variantIds` to what the line holds NOW, read again (one read for
 * them all), and records its expiry on the line (none if it could not be held): for holds set after a batch
 * committed (a line lowered, lines merged). Not the quantity the request computed before its batch: another
 * request's add may have landed since (a merge sums it in SQL), and holding less would free units that add held
 * while the cart shows them held. A line gone since: its removal released it.
 */
export async function holdCommittedLines(
  env: Env,
  db: Database,
  cartId: string,
  variantIds: string[],
): Promise<void> {
  if (variantIds.length === 0) return;
  const lines = await db
    .select({ variantId: cartLines.variantId, quantity: cartLines.quantity })
    .from(cartLines)
    .where(and(eq(cartLines.cartId, cartId), inArray(cartLines.variantId, variantIds)))
    .all();
  for (const line of lines) {
    const hold = await holdLine(env, cartId, line.variantId, line.quantity);
    await db
      .update(cartLines)
      .set({ reservationExpiresAt: hold.ok ? hold.expiresAt : null })
      .where(and(eq(cartLines.cartId, cartId), eq(cartLines.variantId, line.variantId)));
  }
}

/** The line `lineId` of the cart, or 404 `line_item_not_found`. */
function lineOf(lines: LineQuantity[], lineId: string): LineQuantity {
  const line = lines.find((l) => l.id === lineId);
  if (!line) throw new AppError(404, 'line_item_not_found', 'The cart has no such line item.');
  return line;
}

export async function updateLineItem(
  env: Env,
  caller: Caller,
  cart: CartRow,
  lineId: string,
  quantity: number,
  locales: LocaleChains,
): Promise<LoadedCart> {
  const db = createDb(env.DB);
  const now = new Date();
  assertWritable(cart, now);
  const check = (lines: LineQuantity[]) => {
    const line = lineOf(lines, lineId);
    const changed = { ...line, quantity };
    assertWithinLimits(
      lines.map((l) => (l === line ? changed : l)),
      changed,
      '/body/quantity',
    );
    return line;
  };
  const line = check(await quantitiesOf(db, cart.id));
  const recheck = () =>
    recheckCartWrite(db, [cart.id], now, async () => {
      check(await quantitiesOf(db, cart.id));
    });
  if (quantity < line.quantity) {
    // Lowered: written first, the hold lowered after the commit (see the top of this file).
    const [, stamped] = await commit(db, caller, {
      conditional: true,
      statements: [
        db
          .update(cartLines)
          .set({ quantity, updatedAt: now })
          .where(and(eq(cartLines.id, lineId), eq(cartLines.cartId, cart.id))),
        cartWriteGuard(db, cart.id, now),
      ],
      events: linesChanged(cart.id),
      recheck,
      afterCommit: [
        {
          name: 'lower reservation',
          run: () => holdCommittedLines(env, db, cart.id, [line.variantId]),
        },
      ],
    });
    const after = await releasedIfGone(env, caller, cart, stamped, line.variantId);
    return priceCart(env, db, after, { locales, now });
  }

  const hold = await holdLine(env, cart.id, line.variantId, quantity);
  if (!hold.ok) throw outOfStock(hold.available);
  let written: CartRow;
  try {
    const [, stamped] = await commit(db, caller, {
      conditional: true,
      statements: [
        db
          .update(cartLines)
          .set({ quantity, reservationExpiresAt: hold.expiresAt, updatedAt: now })
          .where(and(eq(cartLines.id, lineId), eq(cartLines.cartId, cart.id))),
        cartWriteGuard(db, cart.id, now),
      ],
      events: linesChanged(cart.id),
      recheck,
    });
    // Inside: a cart deleted meanwhile (404) gives its raised hold back too.
    written = afterGuard(cart, stamped);
  } catch (error) {
    await restoreHold(env, caller, cart.id, line.variantId, error);
    throw error;
  }
  return priceCart(env, db, written, { locales, now });
}

export async function removeLineItem(
  env: Env,
  caller: Caller,
  cart: CartRow,
  lineId: string,
  locales: LocaleChains,
): Promise<LoadedCart> {
  const db = createDb(env.DB);
  const now = new Date();
  assertWritable(cart, now);
  const line = lineOf(await quantitiesOf(db, cart.id), lineId);
  const [, stamped] = await commit(db, caller, {
    conditional: true,
    statements: [
      db.delete(cartLines).where(and(eq(cartLines.id, lineId), eq(cartLines.cartId, cart.id))),
      cartWriteGuard(db, cart.id, now),
    ],
    events: linesChanged(cart.id),
    recheck: () => recheckCartWrite(db, [cart.id], now),
    afterCommit: [{ name: 'release reservation', run: () => releaseLine(env, cart.id, line.variantId) }],
  });
  const after = await releasedIfGone(env, caller, cart, stamped, line.variantId);
  return priceCart(env, db, after, { locales, now });
}

/**
 * The cart as the guard of a write whose follow-up changes the line's hold left it. If the cart went meanwhile
 * (404), the batch skipped that follow-up: the line's hold goes now.
 */
async function releasedIfGone(
  env: Env,
  caller: Caller,
  cart: CartRow,
  stamped: GuardStamp,
  variantId: string,
): Promise<CartRow> {
  try {
    return afterGuard(cart, stamped);
  } catch (error) {
    await bestEffort(caller, 'release hold', () => releaseLine(env, cart.id, variantId));
    throw error;
  }
}
