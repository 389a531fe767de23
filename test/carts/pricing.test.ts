/**
 * What a cart costs: lines re-priced when the region changes, lines flagged (never dropped) when they cannot be
 * bought, shipping options priced for the cart (flat, free over a threshold, weight tiers), and the totals with
 * inclusive and exclusive tax and a zero-decimal currency.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { admin, createRegion, rows } from '../helpers/admin-fixtures';
import {
  addLine,
  type Cart,
  cartCall,
  getCart,
  guestCart,
  patchCart,
  stockedProduct,
} from '../helpers/carts';
import { seedRegions } from '../helpers/catalog-fixtures';
import { checkoutCall, SHIPPING_ADDRESS } from '../helpers/checkout';
import { expectProblem } from '../helpers/http';

let regionIds: Record<string, string>;

beforeAll(async () => {
  await seedRegions();
  regionIds = Object.fromEntries(
    (await rows('SELECT code, id FROM regions')).map((r) => [r.code as string, r.id as string]),
  );
});

async function shippingOption(region: string, body: Record<string, unknown>): Promise<{ id: string }> {
  const res = await admin('POST', '/shipping-options', { region_id: regionIds[region], ...body });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { id: string };
}

const summary = (cart: Cart) => ({
  lines: cart.lines.map((l) => [l.unit_price, l.quantity, l.total, l.flags.includes('unavailable')]),
  totals: cart.totals,
});

describe('moving a cart to another region', () => {
  it('re-prices every line in the new currency and flags the lines not sold there, keeping them', async () => {
    const both = await stockedProduct({ variants: [{ prices: { EUR: 1190, USD: 1000 } }] });
    const euroOnly = await stockedProduct({ variants: [{ prices: { EUR: 2380 } }] });
    const { cart, who } = await guestCart('eu');
    await addLine(cart.id, who, both.variants[0]?.id as string, 1);
    await addLine(cart.id, who, euroOnly.variants[0]?.id as string, 2);

    const inEurope = await getCart(cart.id, who);
    expect(summary(inEurope)).toStrictEqual({
      lines: [
        [1190, 1, 1190, false],
        [2380, 2, 4760, false],
      ],
      totals: { subtotal: 5950, discount: 0, shipping: 0, tax: 950, total: 5950, tax_inclusive: true },
    });

    const inUs = await patchCart(cart.id, who, { region: 'us' });
    expect([inUs.region, inUs.currency, inUs.item_count]).toStrictEqual(['us', 'USD', 3]);
    // US: 8.25% added; the euro-only line stays, flagged, priced at nothing and counted in no total.
    expect(summary(inUs)).toStrictEqual({
      lines: [
        [1000, 1, 1083, false],
        [null, 2, 0, true],
      ],
      totals: { subtotal: 1000, discount: 0, shipping: 0, tax: 83, total: 1083, tax_inclusive: false },
    });
    expect(inUs.lines[1]?.flags).toContain('unavailable');

    const back = await patchCart(cart.id, who, { region: 'eu' });
    expect(summary(back)).toStrictEqual(summary(inEurope));
  });

  it('flags lines whose product was archived or whose variant was deleted, showing what they were', async () => {
    const archived = await stockedProduct({
      variants: [{ sku: 'OLD-1', title: 'Old', prices: { EUR: 500 } }],
    });
    const deleted = await stockedProduct({
      translations: { en: { title: 'Gone' } },
      variants: [{ sku: 'GONE-1', title: 'Gone variant', prices: { EUR: 700 } }],
    });
    const kept = await stockedProduct({ variants: [{ prices: { EUR: 100 } }] });
    const { cart, who } = await guestCart('eu');
    for (const p of [archived, deleted, kept]) await addLine(cart.id, who, p.variants[0]?.id as string, 1);

    await env.DB.prepare("UPDATE products SET status = 'archived' WHERE id = ?").bind(archived.id).run();
    await env.DB.prepare('DELETE FROM products WHERE id = ?').bind(deleted.id).run();

    const read = await getCart(cart.id, who);
    expect(
      read.lines.map((l) => [
        l.sku,
        l.title,
        l.variant_title,
        l.product_id,
        l.unit_price,
        l.flags.includes('unavailable'),
      ]),
    ).toStrictEqual([
      ['OLD-1', expect.any(String), 'Old', archived.id, null, true],
      ['GONE-1', 'Gone', 'Gone variant', null, null, true],
      [kept.variants[0]?.sku, expect.any(String), expect.any(String), kept.id, 100, false],
    ]);
    expect(read.totals.subtotal).toBe(100);
    expect(read.item_count).toBe(3);
  });

  it('keeps a cart whose region staff deleted: no region, every line unavailable, until one is set', async () => {
    const region = await admin('POST', '/regions', {
      code: 'temp',
      name: 'Temporary',
      currency: 'EUR',
      tax_rate_bps: 1000,
      prices_include_tax: true,
      locales: ['en'],
      countries: ['QQ'],
    });
    const tempId = ((await region.json()) as { id: string }).id;
    const product = await stockedProduct({ variants: [{ prices: { EUR: 500 } }] });
    const { cart, who } = await guestCart('temp');
    await addLine(cart.id, who, product.variants[0]?.id as string, 1);
    expect((await admin('DELETE', `/regions/${tempId}`)).status).toBe(204);

    const orphan = await getCart(cart.id, who);
    expect([
      orphan.region,
      orphan.lines[0]?.flags.includes('unavailable'),
      orphan.totals.total,
    ]).toStrictEqual([null, true, 0]);
    await expectProblem(
      await cartCall('POST', `/carts/${cart.id}/line-items`, who, {
        variant_id: product.variants[0]?.id,
        quantity: 1,
      }),
      422,
      'variant_unavailable',
      [{ pointer: '/body/variant_id', message: 'Use a variant of an active product in the region' }],
    );
    const rescued = await patchCart(cart.id, who, { region: 'eu' });
    expect([rescued.region, rescued.lines[0]?.unit_price]).toStrictEqual(['eu', 500]);
  });
});

describe('a cart whose region staff moved to another currency', () => {
  it('is priced in the region’s currency, the one its shipping options are in, and takes lines sold in it', async () => {
    const region = await createRegion({ currency: 'EUR', tax_rate_bps: 0 });
    const option = await admin('POST', '/shipping-options', {
      region_id: region.id,
      name: 'Standard',
      price_type: 'flat',
      amount: 500,
    });
    expect(option.status, await option.clone().text()).toBe(201);
    const both = await stockedProduct({ variants: [{ prices: { EUR: 1000, USD: 1200 } }] });
    const dollarOnly = await stockedProduct({ variants: [{ prices: { USD: 300 } }] });
    const { cart, who } = await guestCart(region.code);
    await addLine(cart.id, who, both.variants[0]?.id as string, 1);
    await patchCart(cart.id, who, { shipping_option_id: ((await option.json()) as { id: string }).id });

    const moved = await admin('PATCH', `/regions/${region.id}`, { currency: 'USD' });
    expect(moved.status, await moved.clone().text()).toBe(200);

    const read = await getCart(cart.id, who);
    expect([read.currency, summary(read)]).toStrictEqual([
      'USD',
      {
        lines: [[1200, 1, 1200, false]],
        totals: { subtotal: 1200, discount: 0, shipping: 500, tax: 0, total: 1700, tax_inclusive: true },
      },
    ]);
    const added = await addLine(cart.id, who, dollarOnly.variants[0]?.id as string, 1);
    expect([added.currency, summary(added)]).toStrictEqual([
      'USD',
      {
        lines: [
          [1200, 1, 1200, false],
          [300, 1, 300, false],
        ],
        totals: { subtotal: 1500, discount: 0, shipping: 500, tax: 0, total: 2000, tax_inclusive: true },
      },
    ]);
    // And checkout charges it so.
    await patchCart(cart.id, who, {
      email: 'shopper@example.com',
      shipping_address: { ...SHIPPING_ADDRESS, country_code: region.countries[0] },
    });
    const res = await checkoutCall(cart.id, who, crypto.randomUUID());
    expect(res.status, await res.clone().text()).toBe(201);
    const { order } = (await res.json()) as { order: { currency: string; total: number } };
    expect([order.currency, order.total]).toStrictEqual(['USD', 2000]);
  });
});

describe('shipping options', () => {
  it('lists the options that can carry the cart, priced for it, cheapest first', async () => {
    const product = await stockedProduct({ variants: [{ weightGrams: 1500, prices: { GBP: 2000 } }] });
    const flat = await shippingOption('uk', { name: 'Flat', price_type: 'flat', amount: 495 });
    const freeOver = await shippingOption('uk', {
      name: 'Free over 50',
      price_type: 'flat',
      amount: 695,
      free_over: 5000,
    });
    const tiers = [
      { max_weight_grams: 1000, amount: 300 },
      { max_weight_grams: 3000, amount: 600 },
    ];
    const byWeight = await shippingOption('uk', {
      name: 'By weight',
      price_type: 'weight',
      weight_tiers: tiers,
    });
    await shippingOption('uk', { name: 'Inactive', price_type: 'flat', amount: 1, active: false });
    await shippingOption('eu', { name: 'Other region', price_type: 'flat', amount: 1 });
    const { cart, who } = await guestCart('uk');
    const options = async () => {
      const res = await cartCall('GET', `/carts/${cart.id}/shipping-options`, who);
      expect(res.status).toBe(200);
      expect(res.headers.get('Cache-Control')).toBe('no-store');
      return ((await res.json()) as { data: unknown[] }).data;
    };

    // Empty cart: weighs nothing, first weight tier.
    expect(await options()).toStrictEqual([
      { id: byWeight.id, name: 'By weight', amount: 300, free_over: null },
      { id: flat.id, name: 'Flat', amount: 495, free_over: null },
      { id: freeOver.id, name: 'Free over 50', amount: 695, free_over: 5000 },
    ]);
    // 2 × 1500 g = 3000 g (the second tier, inclusive); subtotal 4000 is below the threshold.
    await addLine(cart.id, who, product.variants[0]?.id as string, 2);
    expect((await options()).map((o) => (o as { amount: number }).amount)).toStrictEqual([495, 600, 695]);
    // 3 × 1500 g = 4500 g: too heavy for the tiers; subtotal 6000 reaches the threshold.
    await addLine(cart.id, who, product.variants[0]?.id as string, 1);
    expect(await options()).toStrictEqual([
      { id: freeOver.id, name: 'Free over 50', amount: 0, free_over: 5000 },
      { id: flat.id, name: 'Flat', amount: 495, free_over: null },
    ]);
  });

  it('prices the chosen option into the totals, refuses one that does not apply, and shows one that stopped applying', async () => {
    const product = await stockedProduct({ variants: [{ weightGrams: 800, prices: { USD: 1000 } }] });
    const tiers = [{ max_weight_grams: 1000, amount: 500 }];
    const light = await shippingOption('us', {
      name: 'Light parcels',
      price_type: 'weight',
      weight_tiers: tiers,
    });
    const europe = await shippingOption('eu', { name: 'EU', price_type: 'flat', amount: 300 });
    const { cart, who } = await guestCart('us');
    await addLine(cart.id, who, product.variants[0]?.id as string, 1);

    const chosen = await patchCart(cart.id, who, { shipping_option_id: light.id });
    expect(chosen.shipping_option).toStrictEqual({
      id: light.id,
      name: 'Light parcels',
      amount: 500,
      applicable: true,
    });
    // US adds 8.25%: 1000 -> 83 (82.5 rounds up), shipping 500 -> 41; total 1000 + 500 + 124.
    expect(chosen.totals).toStrictEqual({
      subtotal: 1000,
      discount: 0,
      shipping: 500,
      tax: 124,
      total: 1624,
      tax_inclusive: false,
    });

    for (const id of [europe.id, 'ship_01ZZZZZZZZZZZZZZZZZZZZZZZZ']) {
      await expectProblem(
        await cartCall('PATCH', `/carts/${cart.id}`, who, { shipping_option_id: id }),
        422,
        'shipping_option_unavailable',
        [
          {
            pointer: '/body/shipping_option_id',
            message: 'Use one of GET /v1/store/carts/{id}/shipping-options',
          },
        ],
      );
    }

    // A second unit makes the cart too heavy for the chosen option: it stays, not applicable, free of charge.
    const heavy = await addLine(cart.id, who, product.variants[0]?.id as string, 1);
    expect(heavy.shipping_option).toStrictEqual({
      id: light.id,
      name: 'Light parcels',
      amount: null,
      applicable: false,
    });
    expect(heavy.totals.shipping).toBe(0);

    // Moving the cart to another region unsets an option of the old one.
    const moved = await patchCart(cart.id, who, { region: 'eu' });
    expect(moved.shipping_option).toBeNull();
  });

  it('shows an option deactivated or deleted by staff as not applicable, or gone', async () => {
    const option = await shippingOption('eu', { name: 'Standard', price_type: 'flat', amount: 490 });
    const { cart, who } = await guestCart('eu');
    await patchCart(cart.id, who, { shipping_option_id: option.id });
    expect((await admin('PATCH', `/shipping-options/${option.id}`, { active: false })).status).toBe(200);
    expect((await getCart(cart.id, who)).shipping_option).toStrictEqual({
      id: option.id,
      name: 'Standard',
      amount: null,
      applicable: false,
    });
    expect((await admin('DELETE', `/shipping-options/${option.id}`)).status).toBe(204);
    expect((await getCart(cart.id, who)).shipping_option).toBeNull();
  });
});

describe('totals in a zero-decimal currency', () => {
  it('prices JPY in whole yen, with inclusive tax extracted per line', async () => {
    const product = await stockedProduct({ variants: [{ prices: { JPY: 1500 } }] });
    const option = await shippingOption('jp', { name: '宅配便', price_type: 'flat', amount: 800 });
    const { cart, who } = await guestCart('jp');
    await addLine(cart.id, who, product.variants[0]?.id as string, 3);
    const priced = await patchCart(cart.id, who, { shipping_option_id: option.id });
    // 4500 yen incl. 10%: net 4091 (4090.9), tax 409; shipping 800: net 727 (727.27), tax 73.
    expect([priced.currency, priced.lines[0]?.tax, priced.totals]).toStrictEqual([
      'JPY',
      409,
      { subtotal: 4500, discount: 0, shipping: 800, tax: 482, total: 5300, tax_inclusive: true },
    ]);
  });
});
