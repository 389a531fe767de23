/**
 * Stock held for cart lines, against the real InventoryItem Durable Objects: adding holds for the configured
 * time, changing the quantity adjusts the hold, removing releases it, not enough stock is 409 out_of_stock with
 * nothing written, a failed batch gives the hold back, and a merge moves the holds to the customer's cart.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { carts } from '../../src/db/schema';
import { systemCaller } from '../../src/lib/caller';
import { commit } from '../../src/lib/commit';
import { createDb } from '../../src/lib/db';
import { lockCartForCheckout } from '../../src/modules/carts/checkout-hooks';
import { addLineItem } from '../../src/modules/carts/line-items';
import { mergeGuestCart } from '../../src/modules/carts/merge';
import { reservationIdOf, reservationTtlMs } from '../../src/modules/carts/reservations';
import { admin, rows } from '../helpers/admin-fixtures';
import {
  addLine,
  type Cart,
  cartCall,
  cartOk,
  cartRow,
  createCart,
  getCart,
  guestCart,
  stockedProduct,
} from '../helpers/carts';
import { seedRegions } from '../helpers/catalog-fixtures';
import { writeLandsBeforeBatch } from '../helpers/concurrent-write';
import { registerCustomer } from '../helpers/customers';
import { problemOf } from '../helpers/http';

const TTL_MS = 900_000;

beforeAll(seedRegions);

/** A variant with `onHand` units in stock. */
async function variantWith(onHand: number): Promise<string> {
  const product = await stockedProduct({ variants: [{ prices: { EUR: 1000 } }] }, onHand);
  return product.variants[0]?.id as string;
}

async function stockOf(variantId: string) {
  const res = await admin('GET', `/inventory/${variantId}`);
  expect(res.status).toBe(200);
  return (await res.json()) as { on_hand: number; reserved: number; available: number };
}

async function reservationsOf(variantId: string) {
  const res = await admin('GET', `/inventory/${variantId}/reservations`);
  expect(res.status).toBe(200);
  return (
    (await res.json()) as { data: { id: string; owner: string; quantity: number; expires_at: string }[] }
  ).data;
}

describe('holding stock for cart lines', () => {
  it(`holds what a line has for ${TTL_MS / 60_000} minutes, shows until when, and follows its quantity`, async () => {
    const variant = await variantWith(10);
    const { cart, who } = await guestCart();
    const before = Date.now();
    const added = await addLine(cart.id, who, variant, 2);
    const after = Date.now();

    const expiresAt = Date.parse(added.lines[0]?.reservation_expires_at as string);
    expect(expiresAt).toBeGreaterThanOrEqual(before + TTL_MS);
    expect(expiresAt).toBeLessThanOrEqual(after + TTL_MS);
    expect(added.lines[0]?.flags).toStrictEqual([]);
    expect(await stockOf(variant)).toMatchObject({ on_hand: 10, reserved: 2, available: 8 });
    expect(await reservationsOf(variant)).toStrictEqual([
      {
        id: reservationIdOf(cart.id, variant),
        owner: cart.id,
        quantity: 2,
        expires_at: added.lines[0]?.reservation_expires_at,
        created_at: expect.any(String),
      },
    ]);

    const line = added.lines[0]?.id as string;
    await addLine(cart.id, who, variant, 3);
    expect(await stockOf(variant)).toMatchObject({ reserved: 5, available: 5 });
    const lowered = await cartOk('PATCH', `/carts/${cart.id}/line-items/${line}`, who, { quantity: 1 });
    expect(await stockOf(variant)).toMatchObject({ reserved: 1, available: 9 });
    // Lowered after its batch, the hold's new expiry is the one the line shows.
    expect((await reservationsOf(variant)).map((r) => [r.quantity, r.expires_at])).toStrictEqual([
      [1, lowered.lines[0]?.reservation_expires_at],
    ]);
    await cartOk('DELETE', `/carts/${cart.id}/line-items/${line}`, who);
    expect(await stockOf(variant)).toMatchObject({ reserved: 0, available: 10 });
    expect(await reservationsOf(variant)).toStrictEqual([]);
  });

  it('answers 409 out_of_stock with what is available, writing nothing and keeping the hold it had', async () => {
    const variant = await variantWith(4);
    const other = await guestCart();
    await addLine(other.cart.id, other.who, variant, 3);
    const { cart, who } = await guestCart();

    const res = await cartCall('POST', `/carts/${cart.id}/line-items`, who, {
      variant_id: variant,
      quantity: 2,
    });
    expect(res.status).toBe(409);
    expect(await problemOf(res)).toStrictEqual({
      type: 'https://edgecart.dev/problems/out_of_stock',
      title: 'Conflict',
      status: 409,
      detail: 'Not enough stock: 1 available.',
      code: 'out_of_stock',
      request_id: res.headers.get('X-Request-Id'),
      available: 1,
    });
    expect(await rows('SELECT COUNT(*) AS n FROM cart_lines WHERE cart_id = ?', cart.id)).toStrictEqual([
      { n: 0 },
    ]);

    // Raising a line beyond the stock leaves the line and its hold as they were.
    const one = await addLine(cart.id, who, variant, 1);
    const line = one.lines[0]?.id as string;
    const raise = await cartCall('PATCH', `/carts/${cart.id}/line-items/${line}`, who, { quantity: 3 });
    expect(raise.status).toBe(409);
    expect(((await raise.json()) as { available: number }).available).toBe(1);
    expect((await getCart(cart.id, who)).lines[0]?.quantity).toBe(1);
    expect(await stockOf(variant)).toMatchObject({ reserved: 4, available: 0 });
  });

  it('gives the hold back when the batch fails after the hold was taken (the cart was locked meanwhile)', async () => {
    const variant = await variantWith(5);
    const { cart, who } = await guestCart();
    await addLine(cart.id, who, variant, 1);
    const db = createDb(env.DB);
    const stale = await db.select().from(carts).where(eq(carts.id, cart.id)).get();
    await commit(db, systemCaller('test', 'run'), {
      statements: [lockCartForCheckout(db, stale as NonNullable<typeof stale>, new Date())],
    });

    const attempt = addLineItem(
      env,
      systemCaller('test', 'run'),
      stale as NonNullable<typeof stale>,
      { variant_id: variant, quantity: 2 },
      () => ['en'],
    );
    await expect(attempt).rejects.toMatchObject({ code: 'cart_not_open' });
    expect(await stockOf(variant)).toMatchObject({ reserved: 1, available: 4 });
    expect((await getCart(cart.id, who)).lines[0]?.quantity).toBe(1);
  });

  it('keeps the hold of a line another request added meanwhile when its own add of the variant is refused', async () => {
    const [variant, fillerA, fillerB] = [
      await variantWith(100),
      await variantWith(100),
      await variantWith(100),
    ];
    const { cart, who } = await guestCart();
    await addLine(cart.id, who, fillerA, 99);
    await addLine(cart.id, who, fillerB, 99);
    // A double click: the first add of 30 lands after the second read the cart (no such line yet), before its batch.
    const firstClick = async () => {
      await addLine(cart.id, who, variant, 30);
    };
    const secondClick = addLineItem(
      writeLandsBeforeBatch('cart_lines', firstClick, 'insert into'),
      systemCaller('test', 'run'),
      await cartRow(cart.id),
      { variant_id: variant, quantity: 30 },
      () => ['en'],
    );

    await expect(secondClick).rejects.toMatchObject({ status: 422, code: 'cart_quantity_limit' });
    const line = (await getCart(cart.id, who)).lines.find((l) => l.variant_id === variant);
    expect([line?.quantity, line?.flags]).toStrictEqual([30, []]);
    expect(await stockOf(variant)).toMatchObject({ on_hand: 100, reserved: 30, available: 70 });
    // Held at least as long as the cart says.
    const [held] = await reservationsOf(variant);
    expect(held?.quantity).toBe(30);
    expect(Date.parse(held?.expires_at as string)).toBeGreaterThanOrEqual(
      Date.parse(line?.reservation_expires_at as string),
    );
  });

  it('flags a line whose hold has run out as not_reserved', async () => {
    const variant = await variantWith(5);
    const { cart, who } = await guestCart();
    await addLine(cart.id, who, variant, 1);
    await env.DB.prepare('UPDATE cart_lines SET reservation_expires_at = ? WHERE cart_id = ?')
      .bind(Date.now() - 1, cart.id)
      .run();
    expect((await getCart(cart.id, who)).lines[0]?.flags).toStrictEqual(['not_reserved']);
    // Touching the line holds it again.
    const line = (await getCart(cart.id, who)).lines[0]?.id;
    const held = await cartOk('PATCH', `/carts/${cart.id}/line-items/${line}`, who, { quantity: 1 });
    expect(held.lines[0]?.flags).toStrictEqual([]);
  });

  /** A customer's cart holding 1 of a variant with 10 on hand, and a guest cart holding 2, before their merge. */
  async function cartsToMerge() {
    const variant = await variantWith(10);
    const customer = await registerCustomer();
    const auth = { accessToken: customer.tokens.access_token };
    const mine = await createCart({ region: 'eu' }, auth);
    await addLine(mine.cart.id, auth, variant, 1);
    const guest = await guestCart();
    await addLine(guest.cart.id, guest.who, variant, 2);
    return { variant, customer, auth, mine, guest };
  }

  it('moves the holds of a merged guest cart to the customer’s cart', async () => {
    const { variant, auth, mine, guest } = await cartsToMerge();
    expect(await stockOf(variant)).toMatchObject({ reserved: 3 });

    const res = await cartCall('POST', `/carts/${guest.cart.id}/merge`, { ...guest.who, ...auth });
    expect(res.status).toBe(200);
    const merged = ((await res.json()) as { cart: Cart }).cart;
    expect(merged.lines.map((l) => [l.quantity, l.flags])).toStrictEqual([[3, []]]);
    expect(await reservationsOf(variant)).toStrictEqual([
      expect.objectContaining({
        id: reservationIdOf(mine.cart.id, variant),
        owner: mine.cart.id,
        quantity: 3,
      }),
    ]);
    expect(await stockOf(variant)).toMatchObject({ reserved: 3, available: 7 });
  });

  it('holds what the customer’s line has after the merge, also when the customer added to it meanwhile', async () => {
    const { variant, customer, auth, mine, guest } = await cartsToMerge();
    // The customer adds 4 more in another tab after the merge read their cart, before its batch.
    const addedElsewhere = () => addLine(mine.cart.id, auth, variant, 4);
    const caller = { ...systemCaller('test', 'run'), actor: { type: 'customer' as const, id: customer.id } };
    await mergeGuestCart(
      writeLandsBeforeBatch('carts', addedElsewhere, 'update'),
      caller,
      await cartRow(guest.cart.id),
      customer.id,
      () => ['en'],
    );

    const cart = await getCart(mine.cart.id, auth);
    expect(cart.lines.map((l) => [l.quantity, l.flags])).toStrictEqual([[7, []]]);
    expect(await reservationsOf(variant)).toStrictEqual([
      expect.objectContaining({
        id: reservationIdOf(mine.cart.id, variant),
        owner: mine.cart.id,
        quantity: 7,
      }),
    ]);
    expect(await stockOf(variant)).toMatchObject({ on_hand: 10, reserved: 7, available: 3 });
  });
});

describe('CART_RESERVATION_TTL_SECONDS', () => {
  it.each([
    ['900 (wrangler.toml)', '900', 900_000],
    ['a minute', '60', 60_000],
    ['not a number: the default', 'soon', 900_000],
    ['zero: the default', '0', 900_000],
    ['more than the inventory allows: a week', String(30 * 86_400), 7 * 86_400_000],
  ])('%s', (_, value, expected) => {
    expect(reservationTtlMs({ CART_RESERVATION_TTL_SECONDS: value })).toBe(expected);
  });

  it('is what the deployment configures', () => {
    expect(env.CART_RESERVATION_TTL_SECONDS).toBe('900');
  });
});
