/**
 * The statements checkout uses on a cart (lock, unlock, complete) and the write guard that ends every cart
 * write: a locked cart cannot change, a dead checkout's lock expires, and a batch that would take a cart past a
 * limit or past a lock rolls back whole, however stale the state the request checked.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { cartLines } from '../../src/db/schema';
import { systemCaller } from '../../src/lib/caller';
import { commit } from '../../src/lib/commit';
import { createDb } from '../../src/lib/db';
import type { CartRow } from '../../src/modules/carts/access';
import {
  CHECKOUT_LOCK_TTL_MS,
  completeCartStatement,
  lockCartForCheckout,
  unlockCart,
} from '../../src/modules/carts/checkout-hooks';
import { MAX_CART_QUANTITY } from '../../src/modules/carts/limits';
import { addLineItem, removeLineItem, updateLineItem } from '../../src/modules/carts/line-items';
import { releaseLine } from '../../src/modules/carts/reservations';
import { updateCart } from '../../src/modules/carts/service';
import { cartWriteGuard } from '../../src/modules/carts/write-guard';
import { stockSnapshot } from '../../src/modules/inventory/stock';
import { rows } from '../helpers/admin-fixtures';
import {
  addLine,
  cartCall,
  cartOk,
  cartRow,
  createCart,
  getCart,
  guestCart,
  holdClockAt,
  patchCart,
  stockedProduct,
} from '../helpers/carts';
import { seedRegions } from '../helpers/catalog-fixtures';
import { writeLandsBeforeBatch } from '../helpers/concurrent-write';
import { PASSWORD, registerCustomer } from '../helpers/customers';
import { bearer, call, expectProblem, jsonInit } from '../helpers/http';

const db = () => createDb(env.DB);
const caller = systemCaller('checkout-test', 'run');
let variants: string[];

beforeAll(async () => {
  await seedRegions();
  const product = await stockedProduct({ variants: [1, 2, 3].map(() => ({ prices: { EUR: 100 } })) });
  variants = product.variants.map((v) => v.id);
});

const variant = (i: number) => variants[i] as string;
/** Checkout's lock on the cart as it is now. */
const lock = async (cartId: string, now: Date) =>
  commit(db(), caller, {
    conditional: true,
    statements: [lockCartForCheckout(db(), await cartRow(cartId), now)],
  });

describe('locking a cart for checkout', () => {
  it('takes the lock once; the locked cart reads but refuses every shopper write', async () => {
    const { cart, who } = await guestCart();
    await addLine(cart.id, who, variant(0), 1);
    const lockedAt = new Date();
    expect(await lock(cart.id, lockedAt)).toStrictEqual([[{ id: cart.id }]]);
    expect(await lock(cart.id, new Date())).toStrictEqual([[]]);

    expect((await getCart(cart.id, who)).status).toBe('checking_out');
    const line = (await getCart(cart.id, who)).lines[0]?.id;
    for (const res of [
      await cartCall('POST', `/carts/${cart.id}/line-items`, who, { variant_id: variant(1), quantity: 1 }),
      await cartCall('PATCH', `/carts/${cart.id}/line-items/${line}`, who, { quantity: 5 }),
      await cartCall('DELETE', `/carts/${cart.id}/line-items/${line}`, who),
      await cartCall('PATCH', `/carts/${cart.id}`, who, { email: 'late@example.com' }),
    ]) {
      await expectProblem(res, 409, 'cart_not_open');
    }

    expect(
      await commit(db(), caller, { conditional: true, statements: [unlockCart(db(), cart.id, lockedAt)] }),
    ).toStrictEqual([[{ id: cart.id }]]);
    expect((await addLine(cart.id, who, variant(1), 1)).status).toBe('open');
  });

  it('refuses, in the batch itself, a write checked against the cart as it was before the lock', async () => {
    const { cart, who } = await guestCart();
    const stale = await cartRow(cart.id);
    await lock(cart.id, new Date());
    // The service checks the stale row (open) and writes; the guard sees the lock and rolls the batch back.
    const attempt = addLineItem(env, caller, stale, { variant_id: variant(0), quantity: 1 }, () => ['en']);
    await expect(attempt).rejects.toMatchObject({ status: 409, code: 'cart_not_open' });
    expect(await rows('SELECT COUNT(*) AS n FROM cart_lines WHERE cart_id = ?', cart.id)).toStrictEqual([
      { n: 0 },
    ]);
    expect((await getCart(cart.id, who)).status).toBe('checking_out');
  });

  it('refuses the lock once the cart changed after checkout priced it: a line removed then is not charged', async () => {
    const { cart, who } = await guestCart();
    await addLine(cart.id, who, variant(0), 1);
    const added = await addLine(cart.id, who, variant(1), 1);
    const priced = await cartRow(cart.id);
    // In the millisecond of checkout's read, between its pricing and its lock, the shopper removes a line
    // (another tab): 200.
    holdClockAt(priced.updatedAt);
    const line = added.lines.find((l) => l.variant_id === variant(1))?.id;
    expect((await cartCall('DELETE', `/carts/${cart.id}/line-items/${line}`, who)).status).toBe(200);

    const locked = await commit(db(), caller, {
      conditional: true,
      statements: [lockCartForCheckout(db(), priced, new Date())],
    });
    expect(locked).toStrictEqual([[]]);
    expect(await rows('SELECT status, checkout_started_at FROM carts WHERE id = ?', cart.id)).toStrictEqual([
      { status: 'open', checkout_started_at: null },
    ]);
    // Checkout starts again from the cart as it is now: priced without the line, and locked.
    expect(await lock(cart.id, new Date())).toStrictEqual([[{ id: cart.id }]]);
  });

  it('refuses the lock once the shopper’s account was erased after checkout read the cart', async () => {
    const shopper = await registerCustomer();
    const who = { accessToken: shopper.tokens.access_token };
    const { cart } = await createCart({ region: 'eu', email: shopper.email }, who);
    await addLine(cart.id, who, variant(0), 1);
    const priced = await cartRow(cart.id);
    expect(priced.email).toBe(shopper.email);
    // The erasure lands in the millisecond of checkout's read.
    holdClockAt(priced.updatedAt);
    const erased = await call(
      '/v1/store/customers/me',
      jsonInit('DELETE', { password: PASSWORD }, bearer(who.accessToken)),
    );
    expect(erased.status).toBe(204);

    const locked = await commit(db(), caller, {
      conditional: true,
      statements: [lockCartForCheckout(db(), priced, new Date())],
    });
    expect(locked).toStrictEqual([[]]);
    expect(await rows('SELECT status, email FROM carts WHERE id = ?', cart.id)).toStrictEqual([
      { status: 'open', email: null },
    ]);
  });

  it('completes the cart with its order only while the lock holds', async () => {
    const { cart, who } = await guestCart();
    const lockedAt = new Date();
    await lock(cart.id, lockedAt);
    const wrongLock = new Date(lockedAt.getTime() - 1);
    await expect(
      commit(db(), caller, {
        statements: [completeCartStatement(db(), cart.id, wrongLock, 'ord_1', new Date())],
      }),
    ).rejects.toThrow();
    await commit(db(), caller, {
      statements: [completeCartStatement(db(), cart.id, lockedAt, 'ord_2', new Date())],
    });
    const completed = await getCart(cart.id, who);
    expect([completed.status, completed.completed_order_id]).toStrictEqual(['completed', 'ord_2']);
    await expectProblem(
      await cartCall('PATCH', `/carts/${cart.id}`, who, { email: 'after@example.com' }),
      409,
      'cart_not_open',
    );
  });

  it(`treats a lock older than ${CHECKOUT_LOCK_TTL_MS / 1000} s as abandoned: the shopper's write reopens the cart, and the dead checkout can no longer complete it`, async () => {
    const { cart, who } = await guestCart();
    const deadLock = new Date(Date.now() - CHECKOUT_LOCK_TTL_MS - 1000);
    await lock(cart.id, deadLock);
    const reopened = await addLine(cart.id, who, variant(0), 1);
    expect(reopened.status).toBe('open');
    expect(await rows('SELECT status, checkout_started_at FROM carts WHERE id = ?', cart.id)).toStrictEqual([
      { status: 'open', checkout_started_at: null },
    ]);
    await expect(
      commit(db(), caller, {
        statements: [completeCartStatement(db(), cart.id, deadLock, 'ord_dead', new Date())],
      }),
    ).rejects.toThrow();
    // A new checkout may take over an abandoned lock too.
    await lock(cart.id, deadLock);
    expect(await lock(cart.id, new Date())).toStrictEqual([[{ id: cart.id }]]);
  });
});

describe('the write guard', () => {
  it('moves updated_at strictly forward on every cart write, within one millisecond too, and answers the row’s', async () => {
    const { cart, who } = await guestCart();
    const created = await cartRow(cart.id);
    expect(cart.updated_at).toBe(created.updatedAt.toISOString());
    // Every write below lands in the millisecond the cart was created.
    holdClockAt(created.updatedAt);
    const added = await addLine(cart.id, who, variant(0), 1);
    const line = added.lines[0]?.id;
    const answers = [
      added,
      await cartOk('PATCH', `/carts/${cart.id}/line-items/${line}`, who, { quantity: 2 }),
      await patchCart(cart.id, who, { email: 'same.millisecond@example.com' }),
      await cartOk('DELETE', `/carts/${cart.id}/line-items/${line}`, who),
    ];
    const msAfter = (n: number) => new Date(created.updatedAt.getTime() + n);
    expect(answers.map((answer) => answer.updated_at)).toStrictEqual(
      [1, 2, 3, 4].map((n) => msAfter(n).toISOString()),
    );
    expect((await getCart(cart.id, who)).updated_at).toBe(msAfter(4).toISOString());

    // Checkout's statements move it the same way.
    const lockedAt = new Date();
    const stamps: Date[] = [];
    const stamped = async () => stamps.push((await cartRow(cart.id)).updatedAt);
    await lock(cart.id, lockedAt);
    await stamped();
    await commit(db(), caller, { conditional: true, statements: [unlockCart(db(), cart.id, lockedAt)] });
    await stamped();
    await lock(cart.id, lockedAt);
    await commit(db(), caller, {
      statements: [completeCartStatement(db(), cart.id, lockedAt, 'ord_same_ms', lockedAt)],
    });
    await stamped();
    expect(stamps).toStrictEqual([msAfter(5), msAfter(6), msAfter(8)]);
  });

  it.each([
    [
      'a quantity change',
      'cart_lines',
      'update',
      (env: Env, cart: CartRow, line: string) => updateLineItem(env, caller, cart, line, 3, () => ['en']),
    ],
    [
      'an addition',
      'cart_lines',
      'insert into',
      (env: Env, cart: CartRow) =>
        addLineItem(env, caller, cart, { variant_id: variant(0), quantity: 2 }, () => ['en']),
    ],
    [
      'a line removal',
      'cart_lines',
      'delete from',
      (env: Env, cart: CartRow, line: string) => removeLineItem(env, caller, cart, line, () => ['en']),
    ],
    [
      'a cart update',
      'carts',
      'update',
      (env: Env, cart: CartRow) =>
        updateCart(
          env,
          caller,
          cart,
          { email: 'late@example.com' },
          { locales: () => ['en'], fields: ['email'] },
        ),
    ],
  ] as const)(
    'answers %s 404 cart_not_found, recording nothing and holding nothing for it, when the cart was deleted after it was read',
    async (_, table, write, send) => {
      const { cart, who } = await guestCart();
      const added = await addLine(cart.id, who, variant(0), 1);
      const read = await cartRow(cart.id);
      const held = (await stockSnapshot(env.INVENTORY_ITEM, variant(0))).reserved;
      // Retention deletes the cart between the write's checks and its batch.
      const deleted = () => env.DB.prepare('DELETE FROM carts WHERE id = ?').bind(cart.id).run();
      const attempt = send(writeLandsBeforeBatch(table, deleted, write), read, added.lines[0]?.id as string);
      await expect(attempt).rejects.toMatchObject({ status: 404, code: 'cart_not_found' });
      expect(
        await rows(
          "SELECT COUNT(*) AS n FROM outbox_events WHERE aggregate_id = ? AND type = 'cart.updated'",
          cart.id,
        ),
      ).toStrictEqual([{ n: 1 }]);
      // A line write gives the line's hold up (nothing could release it for a cart that is gone); a cart update
      // holds nothing.
      const released = table === 'cart_lines' ? 1 : 0;
      expect((await stockSnapshot(env.INVENTORY_ITEM, variant(0))).reserved).toBe(held - released);
    },
  );

  // Retention deletes only a cart whose holds have all lapsed (retention.ts), so the line's hold is gone by then:
  // giving back a raised hold must not hold the line's old quantity again, for a cart nothing can release it for.
  it.each([
    [
      'a quantity change',
      'update',
      (env: Env, cart: CartRow, line: string) => updateLineItem(env, caller, cart, line, 3, () => ['en']),
    ],
    [
      'an addition',
      'insert into',
      (env: Env, cart: CartRow) =>
        addLineItem(env, caller, cart, { variant_id: variant(1), quantity: 2 }, () => ['en']),
    ],
  ] as const)(
    'answers %s on a cart retention deleted meanwhile 404, holding nothing for the deleted cart',
    async (_, write, send) => {
      const { cart, who } = await guestCart();
      const added = await addLine(cart.id, who, variant(1), 1);
      // The line's hold lapsed, as retention requires: the InventoryItem dropped it, the line says it expired.
      await releaseLine(env, cart.id, variant(1));
      await env.DB.prepare('UPDATE cart_lines SET reservation_expires_at = ? WHERE cart_id = ?')
        .bind(Date.now() - 1, cart.id)
        .run();
      const read = await cartRow(cart.id);
      const held = (await stockSnapshot(env.INVENTORY_ITEM, variant(1))).reserved;
      const deleted = () => env.DB.prepare('DELETE FROM carts WHERE id = ?').bind(cart.id).run();
      const attempt = send(
        writeLandsBeforeBatch('cart_lines', deleted, write),
        read,
        added.lines[0]?.id as string,
      );
      await expect(attempt).rejects.toMatchObject({ status: 404, code: 'cart_not_found' });
      expect((await stockSnapshot(env.INVENTORY_ITEM, variant(1))).reserved).toBe(held);
    },
  );

  it(`rolls back a batch that would take the cart past ${MAX_CART_QUANTITY} units, with everything in it`, async () => {
    const { cart, who } = await guestCart();
    await addLine(cart.id, who, variant(0), 99);
    await addLine(cart.id, who, variant(1), 99);
    const now = new Date();
    const overfill = db()
      .insert(cartLines)
      .values({
        id: 'cli_overfill',
        cartId: cart.id,
        variantId: variant(2),
        quantity: MAX_CART_QUANTITY - 198 + 1,
        sku: 's',
        productTitle: 'p',
        variantTitle: 'v',
      });
    await expect(
      commit(db(), caller, {
        statements: [overfill, cartWriteGuard(db(), cart.id, now)],
        events: [
          {
            type: 'cart.updated',
            aggregateType: 'cart',
            aggregateId: cart.id,
            payload: { id: cart.id, fields: ['line_items'] },
          },
        ],
      }),
    ).rejects.toThrow(/NOT NULL constraint failed: carts\.status/);
    expect(await rows("SELECT COUNT(*) AS n FROM cart_lines WHERE id = 'cli_overfill'")).toStrictEqual([
      { n: 0 },
    ]);
    expect(
      await rows(
        "SELECT COUNT(*) AS n FROM outbox_events WHERE aggregate_id = ? AND payload = '{}'",
        cart.id,
      ),
    ).toStrictEqual([{ n: 0 }]);
  });

  it('lets only as many concurrent adds through as the cart has room for', async () => {
    const { cart, who } = await guestCart();
    await addLine(cart.id, who, variant(0), 99);
    await addLine(cart.id, who, variant(1), 99);
    const answers = await Promise.all(
      [40, 40].map((quantity) =>
        cartCall('POST', `/carts/${cart.id}/line-items`, who, { variant_id: variant(2), quantity }),
      ),
    );
    expect(answers.map((r) => r.status).sort()).toStrictEqual([200, 422]);
    expect((await getCart(cart.id, who)).item_count).toBe(238);
  });
});
