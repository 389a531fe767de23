/** No HTTP, no D1: the pure totals (src/modules/carts/totals.ts), shipping prices and discount rules. */
import { describe, expect, it } from 'vitest';
import { allocate, cartTotals, discountAmount } from '../../src/modules/carts/totals';
import { type CartFacts, discountRefusal, redemptionRefusal } from '../../src/modules/discounts/rules';
import type { DiscountRow } from '../../src/modules/discounts/schemas';
import { shippingPrice } from '../../src/modules/shipping-options/pricing';

const inclusive = (rateBps: number) => ({ rateBps, pricesIncludeTax: true });
const exclusive = (rateBps: number) => ({ rateBps, pricesIncludeTax: false });

describe('discountAmount', () => {
  it.each([
    ['10% of 1000', 1000, { type: 'percentage', bps: 1000 }, 100],
    ['12.5% of 1004 = 125.5, half away from zero', 1004, { type: 'percentage', bps: 1250 }, 126],
    ['12.5% of 1003 = 125.375, down', 1003, { type: 'percentage', bps: 1250 }, 125],
    ['15% of 1999 = 299.85, up', 1999, { type: 'percentage', bps: 1500 }, 300],
    ['0.01% of 4999 = 0.4999, down to 0', 4999, { type: 'percentage', bps: 1 }, 0],
    ['0.01% of 5000 = 0.5, up to 1', 5000, { type: 'percentage', bps: 1 }, 1],
    ['100%', 2500, { type: 'percentage', bps: 10_000 }, 2500],
    ['a fixed amount', 2500, { type: 'fixed', amount: 500 }, 500],
    ['a fixed amount over the subtotal, capped', 300, { type: 'fixed', amount: 500 }, 300],
    ['none', 2500, null, 0],
  ] as const)('%s', (_, subtotal, terms, expected) => {
    expect(discountAmount(subtotal, terms)).toBe(expected);
  });

  it('is exact for subtotals whose product with the rate exceeds 2^53', () => {
    // 250 units at the largest price: 2.5e14 × 3333 bps is beyond exact doubles; BigInt keeps it exact.
    const subtotal = 249_999_999_999_750;
    expect(discountAmount(subtotal, { type: 'percentage', bps: 3333 })).toBe(83_324_999_999_917);
  });
});

describe('allocate (largest remainder)', () => {
  it.each([
    ['an even split', 9, [1, 1, 1], [3, 3, 3]],
    ['leftover units to the earliest on a tie', 10, [1, 1, 1], [4, 3, 3]],
    ['leftover units to the largest remainder first', 10, [3, 3, 4], [3, 3, 4]],
    ['in proportion', 100, [1000, 3000], [25, 75]],
    ['the remainder decides, not the order', 5, [1, 2, 4], [1, 1, 3]],
    ['nothing to split', 0, [5, 7], [0, 0]],
    ['no weight at all', 0, [0, 0], [0, 0]],
    ['a zero weight gets nothing', 7, [0, 7], [0, 7]],
  ] as const)('%s', (_, amount, weights, expected) => {
    const shares = allocate(amount, [...weights]);
    expect(shares).toStrictEqual(expected);
    expect(shares.reduce((a, b) => a + b, 0)).toBe(amount);
  });
});

describe('cartTotals', () => {
  it('extracts tax from prices that include it, per line, and adds nothing to the total', () => {
    // 19% inclusive: 1190 -> net 1000, tax 190; 2 × 595 = 1190 -> the same.
    expect(
      cartTotals({
        lines: [
          { unitPrice: 1190, quantity: 1 },
          { unitPrice: 595, quantity: 2 },
        ],
        tax: inclusive(1900),
        discount: null,
        shipping: 0,
      }),
    ).toStrictEqual({
      lines: [
        { subtotal: 1190, discount: 0, tax: 190, total: 1190 },
        { subtotal: 1190, discount: 0, tax: 190, total: 1190 },
      ],
      subtotal: 2380,
      discount: 0,
      shipping: 0,
      shippingTax: 0,
      tax: 380,
      total: 2380,
      taxInclusive: true,
    });
  });

  it('adds tax to prices that exclude it, including on shipping', () => {
    // 8.25% exclusive: 1000 -> 82.5 -> 83 (half away from zero); shipping 500 -> 41.25 -> 41.
    expect(
      cartTotals({
        lines: [{ unitPrice: 1000, quantity: 1 }],
        tax: exclusive(825),
        discount: null,
        shipping: 500,
      }),
    ).toStrictEqual({
      lines: [{ subtotal: 1000, discount: 0, tax: 83, total: 1083 }],
      subtotal: 1000,
      discount: 0,
      shipping: 500,
      shippingTax: 41,
      tax: 124,
      total: 1624,
      taxInclusive: false,
    });
  });

  it('taxes each line after its share of the discount, and never discounts shipping', () => {
    // 10% of 3000 = 300, split 100 / 200; tax on 900 and 1800 at 20% inclusive: 150 and 300; shipping 600 -> 100.
    expect(
      cartTotals({
        lines: [
          { unitPrice: 1000, quantity: 1 },
          { unitPrice: 1000, quantity: 2 },
        ],
        tax: inclusive(2000),
        discount: { type: 'percentage', bps: 1000 },
        shipping: 600,
      }),
    ).toStrictEqual({
      lines: [
        { subtotal: 1000, discount: 100, tax: 150, total: 900 },
        { subtotal: 2000, discount: 200, tax: 300, total: 1800 },
      ],
      subtotal: 3000,
      discount: 300,
      shipping: 600,
      shippingTax: 100,
      tax: 550,
      total: 3300,
      taxInclusive: true,
    });
  });

  it('rounds tax per line, so the sum can differ from tax on the whole (documented)', () => {
    // Three lines of 5 at 10% exclusive: 0.5 each rounds to 1 (3 in all), where 10% of 15 would be 1.5 -> 2.
    const totals = cartTotals({
      lines: [
        { unitPrice: 5, quantity: 1 },
        { unitPrice: 5, quantity: 1 },
        { unitPrice: 5, quantity: 1 },
      ],
      tax: exclusive(1000),
      discount: null,
      shipping: 0,
    });
    expect(totals.lines.map((l) => l.tax)).toStrictEqual([1, 1, 1]);
    expect(totals.tax).toBe(3);
    expect(totals.total).toBe(18);
  });

  it('rounds halves away from zero when extracting inclusive tax', () => {
    // 105 at 5% inclusive: net 100, tax 5; 21: net 20, tax 1; 1 at 100%: net 0.5 rounds up to 1, tax 0.
    const totals = cartTotals({
      lines: [
        { unitPrice: 105, quantity: 1 },
        { unitPrice: 21, quantity: 1 },
      ],
      tax: inclusive(500),
      discount: null,
      shipping: 0,
    });
    expect(totals.lines.map((l) => l.tax)).toStrictEqual([5, 1]);
    const half = cartTotals({
      lines: [{ unitPrice: 1, quantity: 1 }],
      tax: inclusive(10_000),
      discount: null,
      shipping: 0,
    });
    expect(half.lines[0]?.tax).toBe(0);
  });

  it('treats a zero-decimal currency (JPY) like any other: minor units are yen', () => {
    // 15% off 3000 yen = 450, split 225 / 225; 10% inclusive on 1275: net 1159.09 -> 1159, tax 116 each.
    expect(
      cartTotals({
        lines: [
          { unitPrice: 1500, quantity: 1 },
          { unitPrice: 1500, quantity: 1 },
        ],
        tax: inclusive(1000),
        discount: { type: 'percentage', bps: 1500 },
        shipping: 0,
      }),
    ).toStrictEqual({
      lines: [
        { subtotal: 1500, discount: 225, tax: 116, total: 1275 },
        { subtotal: 1500, discount: 225, tax: 116, total: 1275 },
      ],
      subtotal: 3000,
      discount: 450,
      shipping: 0,
      shippingTax: 0,
      tax: 232,
      total: 2550,
      taxInclusive: true,
    });
  });

  it('adds the line discounts up to the cart discount exactly, and the totals to the total', () => {
    const totals = cartTotals({
      lines: [
        { unitPrice: 333, quantity: 1 },
        { unitPrice: 333, quantity: 1 },
        { unitPrice: 334, quantity: 1 },
      ],
      tax: exclusive(1900),
      discount: { type: 'fixed', amount: 100 },
      shipping: 250,
    });
    expect(totals.lines.map((l) => l.discount)).toStrictEqual([33, 33, 34]);
    expect(totals.lines.reduce((sum, l) => sum + l.total, 0) + totals.shipping + totals.shippingTax).toBe(
      totals.total,
    );
  });

  it('is all zero for an empty cart', () => {
    expect(
      cartTotals({ lines: [], tax: exclusive(1900), discount: { type: 'fixed', amount: 500 }, shipping: 0 }),
    ).toStrictEqual({
      lines: [],
      subtotal: 0,
      discount: 0,
      shipping: 0,
      shippingTax: 0,
      tax: 0,
      total: 0,
      taxInclusive: false,
    });
  });
});

describe('shippingPrice', () => {
  const flat = { priceType: 'flat' as const, amount: 499, weightTiers: null, freeOver: null };
  const tiers = [
    { maxGrams: 1000, amount: 500 },
    { maxGrams: 5000, amount: 900 },
  ];
  const weight = { priceType: 'weight' as const, amount: null, weightTiers: tiers, freeOver: null };

  it.each([
    ['flat', flat, 0, 0, 499],
    ['flat, free over a threshold reached exactly', { ...flat, freeOver: 5000 }, 5000, 0, 0],
    ['flat, free over a threshold not reached', { ...flat, freeOver: 5000 }, 4999, 0, 499],
    ['weight, first tier (inclusive bound)', weight, 0, 1000, 500],
    ['weight, second tier', weight, 0, 1001, 900],
    ['weight, heavier than the last tier: cannot carry', weight, 0, 5001, null],
    ['weight, free over a threshold', { ...weight, freeOver: 100 }, 100, 4000, 0],
    ['weight, too heavy even when free over', { ...weight, freeOver: 100 }, 100, 6000, null],
    ['weight, nothing weighs anything', weight, 0, 0, 500],
  ] as const)('%s', (_, option, discountedSubtotal, weightGrams, expected) => {
    expect(shippingPrice(option, { discountedSubtotal, weightGrams })).toBe(expected);
  });
});

describe('discount rules', () => {
  const now = new Date('2026-11-20T12:00:00Z');
  const base: DiscountRow = {
    id: 'disc_1',
    code: 'SAVE10',
    type: 'percentage',
    percentageBps: 1000,
    amount: null,
    currencyCode: null,
    minimumSubtotal: null,
    startsAt: null,
    endsAt: null,
    usageLimit: null,
    usageLimitPerCustomer: null,
    regionIds: null,
    active: true,
    createdAt: now,
    updatedAt: now,
  };
  const cart: CartFacts = { regionId: 'reg_eu', currency: 'EUR', subtotal: 5000, now };
  const unused = { total: 0, byCustomer: 0 };

  it.each([
    ['no discount has the code', null, cart, unused, 'discount_code_invalid'],
    ['inactive', { ...base, active: false }, cart, unused, 'discount_code_invalid'],
    [
      'starts later',
      { ...base, startsAt: new Date(now.getTime() + 1) },
      cart,
      unused,
      'discount_not_started',
    ],
    ['starts now (inclusive)', { ...base, startsAt: now }, cart, unused, null],
    ['ends now (exclusive)', { ...base, endsAt: now }, cart, unused, 'discount_expired'],
    ['ends later', { ...base, endsAt: new Date(now.getTime() + 1) }, cart, unused, null],
    ['another region', { ...base, regionIds: ['reg_us'] }, cart, unused, 'discount_region_excluded'],
    ['one of its regions', { ...base, regionIds: ['reg_us', 'reg_eu'] }, cart, unused, null],
    [
      'a cart without a region',
      { ...base, regionIds: ['reg_eu'] },
      { ...cart, regionId: null },
      unused,
      'discount_region_excluded',
    ],
    [
      'another currency',
      { ...base, type: 'fixed', amount: 500, percentageBps: null, currencyCode: 'USD' },
      cart,
      unused,
      'discount_currency_mismatch',
    ],
    [
      'below the minimum',
      { ...base, currencyCode: 'EUR', minimumSubtotal: 5001 },
      cart,
      unused,
      'discount_minimum_not_met',
    ],
    ['at the minimum', { ...base, currencyCode: 'EUR', minimumSubtotal: 5000 }, cart, unused, null],
    [
      'used up',
      { ...base, usageLimit: 3 },
      cart,
      { total: 3, byCustomer: 0 },
      'discount_usage_limit_reached',
    ],
    ['one use left', { ...base, usageLimit: 3 }, cart, { total: 2, byCustomer: 0 }, null],
    [
      'used up by this customer',
      { ...base, usageLimitPerCustomer: 1 },
      cart,
      { total: 5, byCustomer: 1 },
      'discount_customer_limit_reached',
    ],
  ] as const)('%s', (_, discount, facts, usage, expected) => {
    expect(discountRefusal(discount as DiscountRow | null, facts as CartFacts, usage)).toBe(expected);
  });

  it('re-decides at redemption only what can change after the cart was priced: validity and limits', () => {
    const elsewhere = { ...base, regionIds: ['reg_us'], currencyCode: 'USD', minimumSubtotal: 999_999 };
    expect(redemptionRefusal(elsewhere, now, unused)).toBeNull();
    expect(redemptionRefusal({ ...base, usageLimit: 1 }, now, { total: 1, byCustomer: 0 })).toBe(
      'discount_usage_limit_reached',
    );
    expect(redemptionRefusal(null, now, unused)).toBe('discount_code_invalid');
  });
});
