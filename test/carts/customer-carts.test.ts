/**
 * Signed-in customers' carts (reached with their access token, one active cart each) and the merge of a guest
 * cart into the customer's cart after sign-in.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { systemCaller } from '../../src/lib/caller';
import { MAX_CART_QUANTITY, MAX_LINE_QUANTITY } from '../../src/modules/carts/limits';
import { mergeGuestCart } from '../../src/modules/carts/merge';
import { rows } from '../helpers/admin-fixtures';
import {
  addLine,
  type Cart,
  type CartCredentials,
  cartCall,
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
import { registerCustomer, type SignedIn, TEST_ADDRESS } from '../helpers/customers';
import { expectProblem } from '../helpers/http';

let variants: string[];

beforeAll(async () => {
  await seedRegions();
  const product = await stockedProduct({
    variants: [1, 2, 3, 4].map(() => ({ prices: { EUR: 1000, USD: 900 } })),
  });
  variants = product.variants.map((v) => v.id);
});

const as = (who: SignedIn): CartCredentials => ({ accessToken: who.tokens.access_token });
const variant = (i: number) => variants[i] as string;
const quantities = (cart: Cart) => Object.fromEntries(cart.lines.map((l) => [l.variant_id, l.quantity]));

describe('customer carts', () => {
  it('belong to the signed-in customer: no token, their email, reached with their access token only', async () => {
    const customer = await registerCustomer();
    const res = await cartCall('POST', '/carts', as(customer), { region: 'eu' });
    expect(res.status).toBe(201);
    const { cart, token } = (await res.json()) as { cart: Cart; token: string | null };
    expect(token).toBeNull();
    expect([cart.customer_id, cart.email]).toStrictEqual([customer.id, customer.email.toLowerCase()]);
    expect(await rows('SELECT token_hash FROM carts WHERE id = ?', cart.id)).toStrictEqual([
      { token_hash: null },
    ]);
    expect((await getCart(cart.id, as(customer))).id).toBe(cart.id);

    const stranger = await registerCustomer();
    const guest = await guestCart();
    for (const who of [{}, as(stranger), guest.who]) {
      await expectProblem(await cartCall('GET', `/carts/${cart.id}`, who), 404, 'cart_not_found');
    }
    // Nor does the customer's token reach someone else's guest cart.
    await expectProblem(
      await cartCall('GET', `/carts/${guest.cart.id}`, as(customer)),
      404,
      'cart_not_found',
    );
  });

  it('are one per customer: creating again answers the active cart with 200, even when requests race', async () => {
    const customer = await registerCustomer();
    const answers = await Promise.all(
      [1, 2, 3].map(() => cartCall('POST', '/carts', as(customer), { region: 'eu' })),
    );
    const bodies = (await Promise.all(answers.map((r) => r.json()))) as { cart: Cart }[];
    expect(answers.map((r) => r.status).sort()).toStrictEqual([200, 200, 201]);
    expect(new Set(bodies.map((b) => b.cart.id)).size).toBe(1);
    expect(await rows('SELECT COUNT(*) AS n FROM carts WHERE customer_id = ?', customer.id)).toStrictEqual([
      { n: 1 },
    ]);
    const again = await cartCall('POST', '/carts', as(customer), { region: 'us' });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { cart: Cart }).cart.region).toBe('eu');
  });

  it('can be created anew once the active one is completed', async () => {
    const customer = await registerCustomer();
    const { cart } = await createCart({ region: 'eu' }, as(customer));
    await env.DB.prepare("UPDATE carts SET status = 'completed' WHERE id = ?").bind(cart.id).run();
    const next = await createCart({ region: 'eu' }, as(customer));
    expect(next.cart.id).not.toBe(cart.id);
  });
});

describe('POST /v1/store/carts/{id}/merge', () => {
  const merge = (id: string, who: CartCredentials) => cartCall('POST', `/carts/${id}/merge`, who);

  it('hands the guest cart to a customer who has none: same cart, their email, the token no longer works', async () => {
    const guest = await guestCart();
    await addLine(guest.cart.id, guest.who, variant(0), 2);
    const customer = await registerCustomer();

    const res = await merge(guest.cart.id, { ...guest.who, ...as(customer) });
    expect(res.status).toBe(200);
    const { cart } = (await res.json()) as { cart: Cart };
    expect([cart.id, cart.customer_id, cart.email, quantities(cart)]).toStrictEqual([
      guest.cart.id,
      customer.id,
      customer.email.toLowerCase(),
      { [variant(0)]: 2 },
    ]);
    await expectProblem(await cartCall('GET', `/carts/${cart.id}`, guest.who), 404, 'cart_not_found');
    expect((await getCart(cart.id, as(customer))).id).toBe(cart.id);
    expect(
      await rows(
        "SELECT payload FROM outbox_events WHERE type = 'cart.merged' AND aggregate_id = ?",
        cart.id,
      ),
    ).toStrictEqual([
      { payload: JSON.stringify({ id: cart.id, guest_cart_id: cart.id, customer_id: customer.id }) },
    ]);
    // Merging again answers the same cart.
    const again = await merge(guest.cart.id, { ...guest.who, ...as(customer) });
    expect(((await again.json()) as { cart: Cart }).cart.id).toBe(cart.id);
  });

  it('sums the guest lines into the customer’s cart, capped per line, and closes the guest cart', async () => {
    const customer = await registerCustomer();
    const mine = await createCart({ region: 'eu' }, as(customer));
    await addLine(mine.cart.id, as(customer), variant(0), 2);
    await addLine(mine.cart.id, as(customer), variant(1), 60);
    const guest = await guestCart();
    await addLine(guest.cart.id, guest.who, variant(0), 3);
    await addLine(guest.cart.id, guest.who, variant(1), 60);
    await addLine(guest.cart.id, guest.who, variant(2), 1);
    await patchCart(guest.cart.id, guest.who, { shipping_address: TEST_ADDRESS });

    const res = await merge(guest.cart.id, { ...guest.who, ...as(customer) });
    expect(res.status).toBe(200);
    const { cart } = (await res.json()) as { cart: Cart };
    expect(cart.id).toBe(mine.cart.id);
    expect(quantities(cart)).toStrictEqual({
      [variant(0)]: 5,
      [variant(1)]: MAX_LINE_QUANTITY,
      [variant(2)]: 1,
    });
    // The guest's address fills what the customer's cart lacked.
    expect(cart.shipping_address?.line1).toBe(TEST_ADDRESS.line1);

    // The guest cart is closed: empty, its personal data gone, still readable by its token, unchangeable.
    const closed = await getCart(guest.cart.id, guest.who);
    expect([closed.status, closed.lines, closed.email, closed.shipping_address]).toStrictEqual([
      'merged',
      [],
      null,
      null,
    ]);
    await expectProblem(
      await cartCall('POST', `/carts/${guest.cart.id}/line-items`, guest.who, {
        variant_id: variant(3),
        quantity: 1,
      }),
      409,
      'cart_not_open',
    );
    expect(
      await rows(
        "SELECT payload FROM outbox_events WHERE type = 'cart.merged' AND aggregate_id = ?",
        mine.cart.id,
      ),
    ).toStrictEqual([
      {
        payload: JSON.stringify({ id: mine.cart.id, guest_cart_id: guest.cart.id, customer_id: customer.id }),
      },
    ]);
    // Idempotent: merging the closed guest cart again answers the customer's cart unchanged.
    const again = await merge(guest.cart.id, { ...guest.who, ...as(customer) });
    expect(again.status).toBe(200);
    expect(quantities(((await again.json()) as { cart: Cart }).cart)).toStrictEqual(quantities(cart));
  });

  it('refuses a merge that would exceed the cart’s limits with 422, moving nothing', async () => {
    const customer = await registerCustomer();
    const mine = await createCart({ region: 'eu' }, as(customer));
    await addLine(mine.cart.id, as(customer), variant(0), 99);
    await addLine(mine.cart.id, as(customer), variant(1), 99);
    const guest = await guestCart();
    await addLine(guest.cart.id, guest.who, variant(2), MAX_CART_QUANTITY - 198 + 1);
    const before = await rows('SELECT * FROM cart_lines ORDER BY id');

    const res = await merge(guest.cart.id, { ...guest.who, ...as(customer) });
    await expectProblem(res, 422, 'cart_quantity_limit');
    expect(await rows('SELECT * FROM cart_lines ORDER BY id')).toStrictEqual(before);
    expect((await getCart(guest.cart.id, guest.who)).status).toBe('open');
  });

  it('reaches nobody else’s cart: the guest token and the customer token are both required', async () => {
    const customer = await registerCustomer();
    const guest = await guestCart();
    const other = await guestCart();
    const stranger = await registerCustomer();
    const theirs = await createCart({ region: 'eu' }, as(stranger));

    const noCustomer = await merge(guest.cart.id, guest.who);
    expect(noCustomer.status).toBe(401);
    await expectProblem(await merge(guest.cart.id, as(customer)), 404, 'cart_not_found');
    await expectProblem(await merge(guest.cart.id, { ...other.who, ...as(customer) }), 404, 'cart_not_found');
    await expectProblem(
      await merge(theirs.cart.id, { ...guest.who, ...as(customer) }),
      404,
      'cart_not_found',
    );
    expect((await getCart(guest.cart.id, guest.who)).status).toBe('open');
    expect((await getCart(theirs.cart.id, as(stranger))).customer_id).toBe(stranger.id);
  });

  it('refuses to merge into a cart that is being checked out (409 cart_not_open)', async () => {
    const customer = await registerCustomer();
    const mine = await createCart({ region: 'eu' }, as(customer));
    await env.DB.prepare("UPDATE carts SET status = 'checking_out', checkout_started_at = ? WHERE id = ?")
      .bind(Date.now(), mine.cart.id)
      .run();
    const guest = await guestCart();
    await addLine(guest.cart.id, guest.who, variant(0), 1);
    await expectProblem(await merge(guest.cart.id, { ...guest.who, ...as(customer) }), 409, 'cart_not_open');
    expect((await getCart(guest.cart.id, guest.who)).lines).toHaveLength(1);
  });
  /**
   * The merge of the guest cart as read, with `change` (the shopper in another tab, answered 200) landing after
   * the merge's reads and before its batch, in the very millisecond the guest cart was last written: every run,
   * the version the merge read is all that tells it the cart changed.
   */
  async function mergedAfter(change: () => Promise<unknown>, customer: SignedIn, guestCartId: string) {
    const read = await cartRow(guestCartId);
    holdClockAt(read.updatedAt);
    const caller = {
      ...systemCaller('merge-test', 'run'),
      actor: { type: 'customer' as const, id: customer.id },
    };
    const changed = writeLandsBeforeBatch('carts', change, 'update');
    return mergeGuestCart(changed, caller, read, customer.id, () => ['en']);
  }

  const cartChanged = {
    status: 409,
    code: 'cart_changed',
    message: 'The cart changed while this request was applied; send it again.',
  };

  it('refuses with 409 cart_changed, moving nothing, when the guest cart changed after it was read', async () => {
    const customer = await registerCustomer();
    const mine = await createCart({ region: 'eu' }, as(customer));
    await addLine(mine.cart.id, as(customer), variant(0), 1);
    const guest = await guestCart();
    await addLine(guest.cart.id, guest.who, variant(1), 1);

    const addedElsewhere = () => addLine(guest.cart.id, guest.who, variant(2), 1);
    await expect(mergedAfter(addedElsewhere, customer, guest.cart.id)).rejects.toMatchObject(cartChanged);
    const left = await getCart(guest.cart.id, guest.who);
    expect([left.status, quantities(left)]).toStrictEqual(['open', { [variant(1)]: 1, [variant(2)]: 1 }]);
    expect(quantities(await getCart(mine.cart.id, as(customer)))).toStrictEqual({ [variant(0)]: 1 });
    expect(
      await rows(
        "SELECT COUNT(*) AS n FROM outbox_events WHERE type = 'cart.merged' AND aggregate_id = ?",
        mine.cart.id,
      ),
    ).toStrictEqual([{ n: 0 }]);

    // Sent again, the merge moves every line the guest cart has now, and answers the cart's version as stored.
    const res = await merge(guest.cart.id, { ...guest.who, ...as(customer) });
    expect(res.status).toBe(200);
    const merged = ((await res.json()) as { cart: Cart }).cart;
    expect(quantities(merged)).toStrictEqual({
      [variant(0)]: 1,
      [variant(1)]: 1,
      [variant(2)]: 1,
    });
    expect(merged.updated_at).toBe((await getCart(mine.cart.id, as(customer))).updated_at);
  });

  it('refuses a hand-over the same way when the guest cart changed after it was read', async () => {
    const customer = await registerCustomer();
    const guest = await guestCart();
    const emailSet = () => patchCart(guest.cart.id, guest.who, { email: 'guest@example.com' });

    // Read without an email, the hand-over would give the cart the customer's over the one just set.
    await expect(mergedAfter(emailSet, customer, guest.cart.id)).rejects.toMatchObject(cartChanged);
    const left = await getCart(guest.cart.id, guest.who);
    expect([left.customer_id, left.email]).toStrictEqual([null, 'guest@example.com']);
    const res = await merge(guest.cart.id, { ...guest.who, ...as(customer) });
    expect(res.status).toBe(200);
    const handedOver = ((await res.json()) as { cart: Cart }).cart;
    expect(handedOver).toMatchObject({
      id: guest.cart.id,
      customer_id: customer.id,
      email: 'guest@example.com',
    });
    expect(handedOver.updated_at).toBe((await getCart(guest.cart.id, as(customer))).updated_at);
  });
  it('keeps the address the customer set on their cart after the merge read it: the guest’s fills only what is empty', async () => {
    const customer = await registerCustomer();
    const mine = await createCart({ region: 'eu' }, as(customer));
    const guest = await guestCart();
    await addLine(guest.cart.id, guest.who, variant(0), 1);
    await patchCart(guest.cart.id, guest.who, { shipping_address: TEST_ADDRESS });
    const own = { ...TEST_ADDRESS, line1: 'Karl-Marx-Allee 2', postal_code: '10178' };
    const caller = {
      ...systemCaller('merge-test', 'run'),
      actor: { type: 'customer' as const, id: customer.id },
    };
    // The customer, in another tab, sets their cart's address after the merge's reads, before its batch.
    const addressSet = () => patchCart(mine.cart.id, as(customer), { shipping_address: own });
    const loaded = await mergeGuestCart(
      writeLandsBeforeBatch('carts', addressSet, 'update'),
      caller,
      await cartRow(guest.cart.id),
      customer.id,
      () => ['en'],
    );

    const shown = { ...own, company: null, line2: null, province: null };
    expect(loaded.shippingAddress).toStrictEqual(shown);
    const cart = await getCart(mine.cart.id, as(customer));
    expect([cart.shipping_address, quantities(cart)]).toStrictEqual([shown, { [variant(0)]: 1 }]);
    expect(loaded.cart.updatedAt.toISOString()).toBe(cart.updated_at);
  });

  it('leaves the guest cart as it was when the customer’s cart is deleted (retention) after the merge read it', async () => {
    const customer = await registerCustomer();
    const mine = await createCart({ region: 'eu' }, as(customer));
    const guest = await guestCart();
    await patchCart(guest.cart.id, guest.who, { email: 'guest@example.com' });
    const before = await cartRow(guest.cart.id);
    const caller = {
      ...systemCaller('merge-test', 'run'),
      actor: { type: 'customer' as const, id: customer.id },
    };
    // Retention's prune of the customer's abandoned cart lands after the merge's reads, before its batch.
    const pruned = () => env.DB.prepare('DELETE FROM carts WHERE id = ?').bind(mine.cart.id).run();
    const merging = mergeGuestCart(
      writeLandsBeforeBatch('carts', pruned, 'update'),
      caller,
      before,
      customer.id,
      () => ['en'],
    );

    await expect(merging).rejects.toMatchObject({ status: 404, code: 'cart_not_found' });
    expect(await cartRow(guest.cart.id)).toStrictEqual(before);
    const left = await getCart(guest.cart.id, guest.who);
    expect([left.status, left.email]).toStrictEqual(['open', 'guest@example.com']);
  });
});
