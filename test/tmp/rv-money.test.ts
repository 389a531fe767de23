/**
 * rv-money: what the shopper is charged, from cart to order to refund. Each test fails on the current code
 * because of the defect it names.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createApp } from '../../src/app';
import { admin, rows, uniqueCountry } from '../helpers/admin-fixtures';
import {
  addLine,
  type CartCredentials,
  cartHeaders,
  createCart,
  patchCart,
  stockedProduct,
} from '../helpers/carts';
import { seedRegions } from '../helpers/catalog-fixtures';
import { type CheckoutBody, checkoutCall, SHIPPING_ADDRESS, shippingOption } from '../helpers/checkout';
import { writeLandsBeforeBatch } from '../helpers/concurrent-write';
import { FakeStripe } from '../helpers/fake-stripe';
import { jsonInit } from '../helpers/http';

const stripe = new FakeStripe();
stripe.install();

beforeAll(async () => {
  await seedRegions();
});

/** A region in `currency` serving one fresh country, with a flat shipping option; its code and country. */
async function regionIn(currency: string, shipping: number, tax = { bps: 2400, inclusive: true }) {
  const country = uniqueCountry();
  const code = `rv-${currency.toLowerCase()}-${country.toLowerCase()}`;
  const res = await admin('POST', '/regions', {
    code,
    name: `Region ${code}`,
    currency,
    tax_rate_bps: tax.bps,
    prices_include_tax: tax.inclusive,
    locales: ['en'],
    countries: [country],
  });
  expect(res.status, await res.clone().text()).toBe(201);
  await shippingOption(code, { amount: shipping });
  return { code, country };
}

/** A guest cart in `region` holding `quantity` of a product priced `price` in `currency`, ready for checkout. */
async function readyCartIn(
  region: { code: string; country: string },
  currency: string,
  price: number,
  quantity = 1,
) {
  const product = await stockedProduct({ variants: [{ prices: { [currency]: price } }] });
  const { cart, token } = await createCart({ region: region.code });
  const who = { token };
  await addLine(cart.id, who, product.variants[0]?.id as string, quantity);
  const ready = await patchCart(cart.id, who, {
    email: `shopper.${crypto.randomUUID().slice(0, 8)}@example.com`,
    shipping_address: { ...SHIPPING_ADDRESS, country_code: region.country },
  });
  return { cartId: cart.id, who, cart: ready };
}

const intentCreations = () =>
  stripe.requests.filter((r) => r.method === 'POST' && r.url.endsWith('/v1/payment_intents'));

describe('the amount sent to Stripe is the order’s total', () => {
  // edgecart's minor unit is the runtime's (src/lib/money.ts minorUnits: ISK 0, HUF 0 here); Stripe's API takes both
  // as two-decimal currencies ("ISK will remain a two-decimal currency in the Stripe API, and an ISK amount of `100`
  // will continue to represent 1 króna"; HUF likewise), so 5,980 kr is 598000 on the wire.
  it.each(['ISK', 'HUF'])(
    '%s: a 5,980 order is authorized at Stripe as 5,980, not 59.80',
    async (currency) => {
      const region = await regionIn(currency, 990);
      const { cartId, who, cart } = await readyCartIn(region, currency, 4990);
      expect(cart.currency).toBe(currency);
      const before = intentCreations().length;
      const res = await checkoutCall(cartId, who, crypto.randomUUID(), {
        provider: 'stripe',
        payment_method: 'pm_card_visa',
      });
      expect(res.status, await res.clone().text()).toBe(201);
      const body = (await res.json()) as CheckoutBody;
      expect(body.order.total).toBe(5980);
      const sent = intentCreations().slice(before);
      expect(sent).toHaveLength(1);
      expect(sent[0]?.form.currency).toBe(currency.toLowerCase());
      expect(sent[0]?.form.amount).toBe('598000');
    },
  );
});

/** The checkout call on the app with `bindings` (a D1 that fails as the test says). */
async function checkoutOn(bindings: Env, cartId: string, who: CartCredentials, key: string, body: unknown) {
  const ctx = createExecutionContext();
  const init = jsonInit('POST', body, { ...cartHeaders(who), 'Idempotency-Key': key });
  const res = await createApp().request(`/v1/store/carts/${cartId}/checkout`, init, bindings, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe('a checkout retried with its Idempotency-Key after its batch failed', () => {
  it('does not place a paid order on the PaymentIntent its first attempt canceled', async () => {
    await shippingOption('eu');
    const product = await stockedProduct({ variants: [{ prices: { EUR: 1000 } }] });
    const { cart, token } = await createCart({ region: 'eu' });
    const who = { token };
    await addLine(cart.id, who, product.variants[0]?.id as string, 2);
    await patchCart(cart.id, who, {
      email: `shopper.${crypto.randomUUID().slice(0, 8)}@example.com`,
      shipping_address: SHIPPING_ADDRESS,
    });
    const key = crypto.randomUUID();
    const body = { provider: 'stripe', payment_method: 'pm_card_visa' };
    // Stripe replays an idempotent request by "saving the resulting status code and body of the first request"
    // (docs.stripe.com/api/idempotent_requests): a snapshot. The shared fake keeps the live PaymentIntent object as
    // the reply, so a later cancel would leak into the replay; snapshot replies here as Stripe does.
    const replies = (stripe as unknown as { replies: Map<string, { body: unknown }> }).replies;
    const save = replies.set.bind(replies);
    replies.set = (k, reply) => save(k, { ...reply, body: structuredClone(reply.body) });
    onTestFinished(() => {
      replies.set = save;
    });

    // D1 fails the order's batch once (a transient error): checkout undoes its steps, voiding the authorization.
    const failing = writeLandsBeforeBatch(
      'orders',
      async () => {
        throw new Error('D1_ERROR: Network connection lost.');
      },
      'insert into',
    );
    const first = await checkoutOn(failing, cart.id, who, key, body);
    expect(first.status).toBeGreaterThanOrEqual(500);
    const firstIntent = [...stripe.intents.values()].find((i) => i.metadata.cart_id === cart.id);
    expect(firstIntent?.status).toBe('canceled');

    // The client retries the very request, as an Idempotency-Key invites it to.
    const retry = await checkoutCall(cart.id, who, key, body);
    expect(retry.status, await retry.clone().text()).toBe(201);
    const placed = (await retry.json()) as CheckoutBody;
    expect(placed.order.status).toBe('paid');
    const [payment] = await rows(
      'SELECT provider_ref, status FROM payments WHERE id = ?',
      placed.payment?.id,
    );
    // The order is paid by an authorization Stripe holds, not by the one the first attempt canceled.
    expect(stripe.intents.get(payment?.provider_ref as string)?.status).toBe('requires_capture');
  });
});
