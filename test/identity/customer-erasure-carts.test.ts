/**
 * Customer erasure and carts (src/modules/customers/account-service.ts, eraseCustomer): the erasure's own batch
 * clears the email, shipping address and country of the customer's carts that are not yet an order (open and
 * checking_out), keeps their lines, and leaves completed carts and other shoppers' carts as they were.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCart, patchCart, stockedProduct } from '../helpers/carts';
import { seedRegions } from '../helpers/catalog-fixtures';
import { TEST_ADDRESS as address, PASSWORD, registerCustomer, withAuth } from '../helpers/customers';
import { call } from '../helpers/http';
import { unique } from '../helpers/unique';

beforeAll(seedRegions);

type Shopper = Awaited<ReturnType<typeof registerCustomer>>;

/** The customer's own cart, with an email, an address and one line, as the storefront leaves it. */
async function filledCart(who: Shopper, variantId: string): Promise<string> {
  const credentials = { accessToken: who.tokens.access_token };
  const { cart } = await createCart({ region: 'eu' }, credentials);
  await patchCart(cart.id, credentials, { email: who.email, shipping_address: address });
  const res = await call(
    `/v1/store/carts/${cart.id}/line-items`,
    withAuth(who, 'POST', { variant_id: variantId, quantity: 1 }),
  );
  expect(res.status).toBe(200);
  return cart.id;
}

/** A completed cart of the customer, as checkout leaves it (its order holds its own copy). */
async function completedCart(who: Shopper): Promise<string> {
  const id = unique('cart');
  await env.DB.prepare(
    `INSERT INTO carts (id, customer_id, currency_code, email, shipping_address_encrypted, shipping_country,
       status, completed_order_id, completed_at)
     VALUES (?, ?, 'EUR', ?, 'v1.k.iv.ct', 'DE', 'completed', ?, 0)`,
  )
    .bind(id, who.id, who.email, unique('ord'))
    .run();
  return id;
}

async function cartRow(id: string) {
  return env.DB.prepare(
    `SELECT status, customer_id, email, shipping_address_encrypted IS NOT NULL AS has_address, shipping_country,
       (SELECT count(*) FROM cart_lines WHERE cart_id = carts.id) AS lines
     FROM carts WHERE id = ?`,
  )
    .bind(id)
    .first();
}

const erase = (who: Shopper) =>
  call('/v1/store/customers/me', withAuth(who, 'DELETE', { password: PASSWORD }));

describe('erasing a customer clears their carts not yet an order', () => {
  it('clears the open cart’s email and address in the erasure, and leaves completed and other carts', async () => {
    const product = await stockedProduct({ variants: [{ prices: { EUR: 1000 } }] });
    const variant = product.variants[0]?.id as string;
    const who = await registerCustomer();
    const other = await registerCustomer();
    const open = await filledCart(who, variant);
    const done = await completedCart(who);
    const othersCart = await filledCart(other, variant);
    const untouched = {
      customer_id: other.id,
      status: 'open',
      email: other.email,
      has_address: 1,
      shipping_country: 'DE',
      lines: 1,
    };
    expect(await cartRow(othersCart)).toStrictEqual(untouched);
    const completedBefore = await cartRow(done);

    expect((await erase(who)).status).toBe(204);

    expect(await cartRow(open)).toStrictEqual({
      customer_id: who.id,
      status: 'open',
      email: null,
      has_address: 0,
      shipping_country: null,
      lines: 1,
    });
    expect(await cartRow(done)).toStrictEqual(completedBefore);
    expect(completedBefore).toMatchObject({ status: 'completed', email: who.email, has_address: 1 });
    expect(await cartRow(othersCart)).toStrictEqual(untouched);
  });

  it('clears a cart being checked out too; its order takes its own copy first', async () => {
    const product = await stockedProduct({ variants: [{ prices: { EUR: 1000 } }] });
    const who = await registerCustomer();
    const cart = await filledCart(who, product.variants[0]?.id as string);
    await env.DB.prepare(
      "UPDATE carts SET status = 'checking_out', checkout_started_at = unixepoch() * 1000 WHERE id = ?",
    )
      .bind(cart)
      .run();

    expect((await erase(who)).status).toBe(204);

    expect(await cartRow(cart)).toStrictEqual({
      customer_id: who.id,
      status: 'checking_out',
      email: null,
      has_address: 0,
      shipping_country: null,
      lines: 1,
    });
  });

  it('changes no cart when the erasure is refused', async () => {
    const product = await stockedProduct({ variants: [{ prices: { EUR: 1000 } }] });
    const who = await registerCustomer();
    const cart = await filledCart(who, product.variants[0]?.id as string);
    const before = await cartRow(cart);

    const refused = await call(
      '/v1/store/customers/me',
      withAuth(who, 'DELETE', { password: 'wrong password' }),
    );
    expect(refused.status).toBe(401);

    expect(await cartRow(cart)).toStrictEqual(before);
    expect(before).toMatchObject({ email: who.email, has_address: 1 });
  });
});
