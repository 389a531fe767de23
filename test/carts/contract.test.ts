/**
 * The storefront cart contract: status, whole bodies and headers of create, read, update and the line-item
 * routes; guest token isolation; validation and limits; the events each write raises.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { sha256Hex } from '../../src/lib/crypto';
import { decryptField } from '../../src/lib/encryption';
import { MAX_CART_LINES, MAX_CART_QUANTITY, MAX_LINE_QUANTITY } from '../../src/modules/carts/limits';
import { rows } from '../helpers/admin-fixtures';
import {
  addLine,
  type Cart,
  cartCall,
  cartHeaders,
  cartOk,
  getCart,
  guestCart,
  patchCart,
  stockedProduct,
} from '../helpers/carts';
import { seedRegions } from '../helpers/catalog-fixtures';
import { writeLandsBeforeBatch } from '../helpers/concurrent-write';
import { TEST_ADDRESS } from '../helpers/customers';
import { call, expectProblem, jsonInit } from '../helpers/http';
import { uniqueEmail } from '../helpers/unique';

const anyDate = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
const cartId = expect.stringMatching(/^cart_[0-9A-Z]{26}$/);
const lineId = expect.stringMatching(/^cli_[0-9A-Z]{26}$/);

let mug: Awaited<ReturnType<typeof stockedProduct>>;
let mugVariant: string;

beforeAll(async () => {
  await seedRegions();
  mug = await stockedProduct({
    translations: { en: { title: 'Mug' }, de: { title: 'Tasse' } },
    variants: [{ sku: 'MUG-BLUE', title: 'Blue', prices: { EUR: 1190, USD: 1000 } }],
  });
  mugVariant = mug.variants[0]?.id as string;
});

/** An empty cart as JSON, with `overrides`. */
function emptyCart(overrides: Partial<Cart> = {}): Cart {
  return {
    id: cartId,
    status: 'open',
    region: 'eu',
    currency: 'EUR',
    customer_id: null,
    email: null,
    shipping_address: null,
    shipping_option: null,
    discount: null,
    lines: [],
    item_count: 0,
    totals: { subtotal: 0, discount: 0, shipping: 0, tax: 0, total: 0, tax_inclusive: true },
    completed_order_id: null,
    created_at: anyDate,
    updated_at: anyDate,
    ...overrides,
  };
}

const eventsOf = (id: string) =>
  rows(
    'SELECT type, aggregate_type, aggregate_id, payload, actor_type FROM outbox_events WHERE aggregate_id = ? ORDER BY rowid',
    id,
  );

describe('POST /v1/store/carts', () => {
  it('creates a guest cart: 201, the cart, its token (only its hash stored), Location, no-store', async () => {
    const email = uniqueEmail('Guest');
    const res = await cartCall('POST', '/carts', {}, { region: 'eu', email });

    expect(res.status).toBe(201);
    const body = (await res.json()) as { cart: Cart; token: string };
    expect(body).toStrictEqual({
      cart: emptyCart({ email: email.toLowerCase() }),
      token: expect.stringMatching(/^[\w-]{43}$/),
    });
    expect(res.headers.get('Location')).toBe(`/v1/store/carts/${body.cart.id}`);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(
      await rows('SELECT token_hash, customer_id, status FROM carts WHERE id = ?', body.cart.id),
    ).toStrictEqual([{ token_hash: await sha256Hex(body.token), customer_id: null, status: 'open' }]);
    expect(await eventsOf(body.cart.id)).toStrictEqual([
      {
        type: 'cart.created',
        aggregate_type: 'cart',
        aggregate_id: body.cart.id,
        payload: JSON.stringify({ id: body.cart.id, region: 'eu', customer_id: null }),
        actor_type: 'anonymous',
      },
    ]);
  });

  it('takes the region the edge resolved when the body names none, and accepts no body at all', async () => {
    const res = await call('/v1/store/carts', { method: 'POST', cf: { country: 'US' } });
    expect(res.status).toBe(201);
    const { cart } = (await res.json()) as { cart: Cart };
    expect(cart).toStrictEqual(
      emptyCart({ region: 'us', currency: 'USD', totals: { ...emptyCart().totals, tax_inclusive: false } }),
    );
  });

  it('refuses an unknown region with 422 unknown_region and creates nothing', async () => {
    const before = await rows('SELECT COUNT(*) AS n FROM carts');
    await expectProblem(await cartCall('POST', '/carts', {}, { region: 'atlantis' }), 422, 'unknown_region', [
      { pointer: '/body/region', message: 'Use a code from GET /v1/store/regions' },
    ]);
    expect(await rows('SELECT COUNT(*) AS n FROM carts')).toStrictEqual(before);
  });

  it.each([
    ['a malformed email', { email: 'not-an-email' }, '/body/email'],
    ['an unknown field', { currency: 'EUR' }, '/body/currency'],
    ['a malformed region code', { region: 'EU!' }, '/body/region'],
  ])('refuses %s with 422', async (_, body, pointer) => {
    const res = await cartCall('POST', '/carts', {}, body);
    await expectProblem(res, 422, 'validation_failed', [{ pointer, message: expect.any(String) }]);
  });

  it('refuses a bearer token that is not a valid customer token with 401 rather than acting as a guest', async () => {
    const res = await cartCall('POST', '/carts', { accessToken: 'not-a-jwt' }, { region: 'eu' });
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toContain('invalid_token');
  });
});

describe('reaching a guest cart', () => {
  it('answers the cart to its token only: no token, another cart’s token or an unknown id are the same 404', async () => {
    const mine = await guestCart();
    const other = await guestCart();
    expect(await getCart(mine.cart.id, mine.who)).toStrictEqual(emptyCart({ id: mine.cart.id }));

    for (const attempt of [
      cartCall('GET', `/carts/${mine.cart.id}`, {}),
      cartCall('GET', `/carts/${mine.cart.id}`, other.who),
      cartCall('GET', `/carts/${mine.cart.id}`, { token: `${mine.who.token}x` }),
      cartCall('GET', '/carts/cart_01ZZZZZZZZZZZZZZZZZZZZZZZZ', mine.who),
      cartCall('PATCH', `/carts/${mine.cart.id}`, other.who, { email: uniqueEmail() }),
      cartCall('POST', `/carts/${mine.cart.id}/line-items`, {}, { variant_id: mugVariant, quantity: 1 }),
      cartCall('GET', `/carts/${mine.cart.id}/shipping-options`, other.who),
    ]) {
      const res = await attempt;
      await expectProblem(res, 404, 'cart_not_found');
      expect((await rows('SELECT email FROM carts WHERE id = ?', mine.cart.id))[0]).toStrictEqual({
        email: null,
      });
    }
    expect(await rows('SELECT COUNT(*) AS n FROM cart_lines WHERE cart_id = ?', mine.cart.id)).toStrictEqual([
      { n: 0 },
    ]);
  });

  it('lets a browser send X-Cart-Token cross-origin (CORS preflight)', async () => {
    const res = await call('/v1/store/carts/cart_x', {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://shop.test',
        'Access-Control-Request-Method': 'PATCH',
        'Access-Control-Request-Headers': 'x-cart-token',
      },
    });
    expect(res.headers.get('Access-Control-Allow-Headers')?.toLowerCase()).toContain('x-cart-token');
  });
});

describe('PATCH /v1/store/carts/{id}', () => {
  it('sets the email and the shipping address (stored encrypted, its country in clear) and raises cart.updated', async () => {
    const { cart, who } = await guestCart();
    const email = uniqueEmail();
    const updated = await patchCart(cart.id, who, { email, shipping_address: TEST_ADDRESS });
    expect(updated).toStrictEqual(
      emptyCart({
        id: cart.id,
        email,
        shipping_address: { ...TEST_ADDRESS, company: null, line2: null, province: null },
      }),
    );
    const [row] = await rows(
      'SELECT shipping_address_encrypted, shipping_country FROM carts WHERE id = ?',
      cart.id,
    );
    expect(row?.shipping_country).toBe('DE');
    expect(row?.shipping_address_encrypted).toMatch(/^v1\.test-2\./);
    expect(row?.shipping_address_encrypted).not.toContain('Lovelace');
    expect(JSON.parse(await decryptField(env, row?.shipping_address_encrypted as string))).toStrictEqual(
      updated.shipping_address,
    );
    expect(await getCart(cart.id, who)).toStrictEqual({ ...updated, updated_at: anyDate });
    expect((await eventsOf(cart.id)).map((e) => [e.type, e.payload])).toStrictEqual([
      ['cart.created', expect.any(String)],
      ['cart.updated', JSON.stringify({ id: cart.id, fields: ['email', 'shipping_address'] })],
    ]);

    const cleared = await patchCart(cart.id, who, { shipping_address: null, email: null });
    expect(cleared).toStrictEqual(emptyCart({ id: cart.id }));
    expect(
      await rows('SELECT shipping_address_encrypted, shipping_country FROM carts WHERE id = ?', cart.id),
    ).toStrictEqual([{ shipping_address_encrypted: null, shipping_country: null }]);
  });

  it('keeps what another PATCH set meanwhile: each PATCH writes only the fields it sent', async () => {
    const { cart, who } = await guestCart();
    const email = uniqueEmail();
    // The shopper's email form commits after the address form's PATCH has read the cart, before its batch.
    const emailLands = () => patchCart(cart.id, who, { email });
    const ctx = createExecutionContext();
    const res = await createApp().request(
      `/v1/store/carts/${cart.id}`,
      jsonInit('PATCH', { shipping_address: TEST_ADDRESS }, cartHeaders(who)),
      writeLandsBeforeBatch('carts', emailLands, 'update'),
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status, await res.clone().text()).toBe(200);
    const address = { ...TEST_ADDRESS, company: null, line2: null, province: null };
    expect(((await res.json()) as { cart: Cart }).cart).toStrictEqual(
      emptyCart({ id: cart.id, email, shipping_address: address }),
    );
    expect(await getCart(cart.id, who)).toStrictEqual(
      emptyCart({ id: cart.id, email, shipping_address: address }),
    );
    expect(await rows('SELECT email, shipping_country FROM carts WHERE id = ?', cart.id)).toStrictEqual([
      { email, shipping_country: 'DE' },
    ]);
  });

  it('refuses an address checked against the region another PATCH moved the cart from meanwhile (409 cart_changed)', async () => {
    const { cart, who } = await guestCart('eu');
    // The region switcher's PATCH commits after the address form's PATCH checked DE against eu, before its batch.
    const movedToUs = () => patchCart(cart.id, who, { region: 'us' });
    const ctx = createExecutionContext();
    const res = await createApp().request(
      `/v1/store/carts/${cart.id}`,
      jsonInit('PATCH', { shipping_address: TEST_ADDRESS }, cartHeaders(who)),
      writeLandsBeforeBatch('carts', movedToUs, 'update'),
      ctx,
    );
    await waitOnExecutionContext(ctx);

    await expectProblem(res, 409, 'cart_changed');
    expect(await getCart(cart.id, who)).toStrictEqual(
      emptyCart({
        id: cart.id,
        region: 'us',
        currency: 'USD',
        totals: { subtotal: 0, discount: 0, shipping: 0, tax: 0, total: 0, tax_inclusive: false },
      }),
    );
    expect(
      await rows('SELECT shipping_address_encrypted, shipping_country FROM carts WHERE id = ?', cart.id),
    ).toStrictEqual([{ shipping_address_encrypted: null, shipping_country: null }]);
  });

  it('refuses an address in a country the region does not ship to with 422 country_not_in_region', async () => {
    const { cart, who } = await guestCart('eu');
    await expectProblem(
      await cartCall('PATCH', `/carts/${cart.id}`, who, {
        shipping_address: { ...TEST_ADDRESS, country_code: 'US' },
      }),
      422,
      'country_not_in_region',
      [{ pointer: '/body/shipping_address/country_code', message: 'Use a country of the cart’s region' }],
    );
    // The same request may move the cart to the region that ships there.
    const moved = await patchCart(cart.id, who, {
      region: 'us',
      shipping_address: { ...TEST_ADDRESS, country_code: 'US' },
    });
    expect([moved.region, moved.shipping_address?.country_code]).toStrictEqual(['us', 'US']);
  });

  it.each([
    ['an empty body', {}, '/body', 'Send at least one field to change'],
    ['an unknown field', { status: 'completed' }, '/body/status', 'Unknown field'],
    [
      'an address without a city',
      { shipping_address: { ...TEST_ADDRESS, city: undefined } },
      '/body/shipping_address/city',
      expect.any(String),
    ],
    [
      'an address with default flags',
      { shipping_address: { ...TEST_ADDRESS, is_default_shipping: true } },
      '/body/shipping_address/is_default_shipping',
      'Unknown field',
    ],
    ['a malformed discount code', { discount_code: 'NO SPACES' }, '/body/discount_code', expect.any(String)],
  ])('refuses %s with 422', async (_, body, pointer, message) => {
    const { cart, who } = await guestCart();
    await expectProblem(await cartCall('PATCH', `/carts/${cart.id}`, who, body), 422, 'validation_failed', [
      { pointer, message },
    ]);
  });
});

describe('line items', () => {
  it('adds a variant with its price, sums a second add into the line, changes and removes it', async () => {
    const { cart, who } = await guestCart();
    const added = await addLine(cart.id, who, mugVariant, 2);
    const line = {
      id: lineId,
      variant_id: mugVariant,
      product_id: mug.id,
      product_handle: mug.handle,
      sku: 'MUG-BLUE',
      title: 'Tasse',
      variant_title: 'Blue',
      quantity: 2,
      unit_price: 1190,
      subtotal: 2380,
      discount: 0,
      tax: 380,
      total: 2380,
      reservation_expires_at: anyDate,
      flags: [],
    };
    expect(added).toStrictEqual(
      emptyCart({
        id: cart.id,
        lines: [line],
        item_count: 2,
        totals: { subtotal: 2380, discount: 0, shipping: 0, tax: 380, total: 2380, tax_inclusive: true },
      }),
    );
    const id = added.lines[0]?.id as string;

    const again = await addLine(cart.id, who, mugVariant, 1);
    expect(again.lines).toStrictEqual([{ ...line, id, quantity: 3, subtotal: 3570, tax: 570, total: 3570 }]);
    expect(await rows('SELECT COUNT(*) AS n FROM cart_lines WHERE cart_id = ?', cart.id)).toStrictEqual([
      { n: 1 },
    ]);

    const changed = await cartOk('PATCH', `/carts/${cart.id}/line-items/${id}`, who, { quantity: 1 });
    expect(changed.lines).toStrictEqual([
      { ...line, id, quantity: 1, subtotal: 1190, tax: 190, total: 1190 },
    ]);
    expect(changed.item_count).toBe(1);

    const removed = await cartOk('DELETE', `/carts/${cart.id}/line-items/${id}`, who);
    expect(removed).toStrictEqual(emptyCart({ id: cart.id }));
    expect(await rows('SELECT COUNT(*) AS n FROM cart_lines WHERE cart_id = ?', cart.id)).toStrictEqual([
      { n: 0 },
    ]);
    expect((await eventsOf(cart.id)).map((e) => e.payload)).toStrictEqual([
      expect.any(String),
      ...Array(4).fill(JSON.stringify({ id: cart.id, fields: ['line_items'] })),
    ]);
  });

  it('names the product in the request’s locale, falling back along the region’s locales', async () => {
    const { cart, who } = await guestCart();
    await addLine(cart.id, who, mugVariant, 1);
    const res = await cartCall('GET', `/carts/${cart.id}`, who, undefined, {
      headers: { 'Accept-Language': 'de' },
    });
    expect(((await res.json()) as { cart: Cart }).cart.lines[0]?.title).toBe('Tasse');
  });

  it('answers 404 line_item_not_found for a line of another cart or none', async () => {
    const mine = await guestCart();
    const other = await guestCart();
    const theirs = (await addLine(other.cart.id, other.who, mugVariant, 1)).lines[0]?.id as string;
    for (const res of [
      await cartCall('PATCH', `/carts/${mine.cart.id}/line-items/${theirs}`, mine.who, { quantity: 2 }),
      await cartCall('DELETE', `/carts/${mine.cart.id}/line-items/${theirs}`, mine.who),
      await cartCall('DELETE', `/carts/${mine.cart.id}/line-items/cli_none`, mine.who),
    ]) {
      await expectProblem(res, 404, 'line_item_not_found');
    }
    expect((await getCart(other.cart.id, other.who)).lines.map((l) => l.quantity)).toStrictEqual([1]);
  });

  it('refuses variants that do not exist (422 variant_not_found) or are not sold in the region (variant_unavailable)', async () => {
    const { cart, who } = await guestCart('eu');
    const usdOnly = await stockedProduct({ variants: [{ prices: { USD: 500 } }] });
    const draft = await stockedProduct({ status: 'draft', variants: [{ prices: { EUR: 500 } }] });
    const refuse = async (variantId: string, code: string) =>
      expectProblem(
        await cartCall('POST', `/carts/${cart.id}/line-items`, who, { variant_id: variantId, quantity: 1 }),
        422,
        code,
        [{ pointer: '/body/variant_id', message: 'Use a variant of an active product in the region' }],
      );
    await refuse('var_01ZZZZZZZZZZZZZZZZZZZZZZZZ', 'variant_not_found');
    await refuse(usdOnly.variants[0]?.id as string, 'variant_unavailable');
    await refuse(draft.variants[0]?.id as string, 'variant_unavailable');
    expect(await rows('SELECT COUNT(*) AS n FROM cart_lines WHERE cart_id = ?', cart.id)).toStrictEqual([
      { n: 0 },
    ]);
  });

  it.each([
    ['a zero quantity', { quantity: 0 }, '/body/quantity'],
    ['more than a line holds', { quantity: MAX_LINE_QUANTITY + 1 }, '/body/quantity'],
    ['a fractional quantity', { quantity: 1.5 }, '/body/quantity'],
    ['no variant', { variant_id: undefined }, '/body/variant_id'],
  ])('refuses %s with 422 validation_failed', async (_, overrides, pointer) => {
    const { cart, who } = await guestCart();
    const res = await cartCall('POST', `/carts/${cart.id}/line-items`, who, {
      variant_id: mugVariant,
      quantity: 1,
      ...overrides,
    });
    await expectProblem(res, 422, 'validation_failed', [{ pointer, message: expect.any(String) }]);
  });
});

describe('adding to a cart retried with its Idempotency-Key', () => {
  const add = (cartId: string, who: Parameters<typeof cartCall>[2], quantity: number, key: string) =>
    cartCall(
      'POST',
      `/carts/${cartId}/line-items`,
      who,
      { variant_id: mugVariant, quantity },
      {
        headers: { 'Idempotency-Key': key },
      },
    );

  it('adds once: the retry answers 200, Idempotent-Replayed, with the cart as it is now', async () => {
    const { cart, who } = await guestCart();
    const key = crypto.randomUUID();
    const first = await add(cart.id, who, 2, key);
    expect([first.status, first.headers.get('Idempotent-Replayed')]).toStrictEqual([200, null]);
    const retry = await add(cart.id, who, 2, key);
    expect([retry.status, retry.headers.get('Idempotent-Replayed')]).toStrictEqual([200, 'true']);
    const now = await getCart(cart.id, who);
    expect(((await retry.json()) as { cart: Cart }).cart).toStrictEqual(now);
    expect(now.lines.map((l) => l.quantity)).toStrictEqual([2]);
    expect(
      (await eventsOf(cart.id)).filter((e) => e.type === 'cart.updated').map((e) => e.type),
    ).toHaveLength(1);
  });

  it('the same key with another quantity is 422 idempotency_key_reused; a refusal keeps nothing', async () => {
    const { cart, who } = await guestCart();
    const key = crypto.randomUUID();
    expect((await add(cart.id, who, 2, key)).status).toBe(200);
    await expectProblem(await add(cart.id, who, 3, key), 422, 'idempotency_key_reused');
    expect((await getCart(cart.id, who)).lines.map((l) => l.quantity)).toStrictEqual([2]);
    const refusedKey = crypto.randomUUID();
    await expectProblem(await add(cart.id, who, MAX_LINE_QUANTITY, refusedKey), 422, 'line_quantity_limit', [
      { pointer: '/body/quantity', message: expect.any(String) },
    ]);
    const fixed = await add(cart.id, who, 1, refusedKey);
    expect([fixed.status, fixed.headers.get('Idempotent-Replayed')]).toStrictEqual([200, null]);
    expect((await getCart(cart.id, who)).lines.map((l) => l.quantity)).toStrictEqual([3]);
  });

  it('a replay is for whoever may reach the cart: without its token, 404', async () => {
    const { cart, who } = await guestCart();
    const key = crypto.randomUUID();
    expect((await add(cart.id, who, 1, key)).status).toBe(200);
    await expectProblem(await add(cart.id, {}, 1, key), 404, 'cart_not_found');
  });
});

describe('limits', () => {
  it(`holds at most ${MAX_LINE_QUANTITY} units per line, also when adds sum up (422 line_quantity_limit)`, async () => {
    const { cart, who } = await guestCart();
    await addLine(cart.id, who, mugVariant, MAX_LINE_QUANTITY - 1);
    await expectProblem(
      await cartCall('POST', `/carts/${cart.id}/line-items`, who, { variant_id: mugVariant, quantity: 2 }),
      422,
      'line_quantity_limit',
      [{ pointer: '/body/quantity', message: `A line holds at most ${MAX_LINE_QUANTITY} units.` }],
    );
    expect((await getCart(cart.id, who)).item_count).toBe(MAX_LINE_QUANTITY - 1);
  });

  it(`holds at most ${MAX_CART_QUANTITY} units per cart (422 cart_quantity_limit), on add and on change`, async () => {
    const product = await stockedProduct({
      variants: [1, 2, 3].map(() => ({ prices: { EUR: 100 } })),
    });
    const [a, b, c] = product.variants.map((v) => v.id) as [string, string, string];
    const { cart, who } = await guestCart();
    await addLine(cart.id, who, a, 99);
    await addLine(cart.id, who, b, 99);
    const detail = `A cart holds at most ${MAX_CART_QUANTITY} units.`;
    await expectProblem(
      await cartCall('POST', `/carts/${cart.id}/line-items`, who, { variant_id: c, quantity: 53 }),
      422,
      'cart_quantity_limit',
      [{ pointer: '/body/variant_id', message: detail }],
    );
    const full = await addLine(cart.id, who, c, 52);
    const lineC = full.lines[2]?.id as string;
    await expectProblem(
      await cartCall('PATCH', `/carts/${cart.id}/line-items/${lineC}`, who, { quantity: 53 }),
      422,
      'cart_quantity_limit',
      [{ pointer: '/body/quantity', message: detail }],
    );
    expect((await getCart(cart.id, who)).item_count).toBe(MAX_CART_QUANTITY);
  });

  it(`holds at most ${MAX_CART_LINES} different variants (422 cart_line_limit)`, async () => {
    const product = await stockedProduct({
      variants: Array.from({ length: MAX_CART_LINES + 1 }, () => ({ prices: { EUR: 100 } })),
    });
    const { cart, who } = await guestCart();
    await env.DB.batch(
      product.variants.slice(0, MAX_CART_LINES).map((v, i) =>
        env.DB.prepare(
          `INSERT INTO cart_lines (id, cart_id, variant_id, quantity, sku, product_title, variant_title)
           VALUES (?, ?, ?, 1, 'sku', 'title', 'variant')`,
        ).bind(`cli_test_${i}`, cart.id, v.id),
      ),
    );
    await expectProblem(
      await cartCall('POST', `/carts/${cart.id}/line-items`, who, {
        variant_id: product.variants[MAX_CART_LINES]?.id,
        quantity: 1,
      }),
      422,
      'cart_line_limit',
      [{ pointer: '/body/variant_id', message: `A cart holds at most ${MAX_CART_LINES} different items.` }],
    );
    // A variant already in the cart still adds to its line.
    const more = await addLine(cart.id, who, product.variants[0]?.id as string, 1);
    expect(more.item_count).toBe(MAX_CART_LINES + 1);
  });
});

describe('a cart that is no longer open', () => {
  it('cannot change: 409 cart_not_open, and it still reads', async () => {
    const { cart, who } = await guestCart();
    await addLine(cart.id, who, mugVariant, 1);
    await env.DB.prepare(
      "UPDATE carts SET status = 'completed', completed_order_id = 'ord_test', completed_at = 1 WHERE id = ?",
    )
      .bind(cart.id)
      .run();
    const lineIdOf = (await getCart(cart.id, who)).lines[0]?.id;
    for (const res of [
      await cartCall('PATCH', `/carts/${cart.id}`, who, { email: uniqueEmail() }),
      await cartCall('POST', `/carts/${cart.id}/line-items`, who, { variant_id: mugVariant, quantity: 1 }),
      await cartCall('PATCH', `/carts/${cart.id}/line-items/${lineIdOf}`, who, { quantity: 2 }),
      await cartCall('DELETE', `/carts/${cart.id}/line-items/${lineIdOf}`, who),
    ]) {
      await expectProblem(res, 409, 'cart_not_open');
    }
    const read = await getCart(cart.id, who);
    expect([read.status, read.completed_order_id, read.item_count]).toStrictEqual([
      'completed',
      'ord_test',
      1,
    ]);
  });
});
