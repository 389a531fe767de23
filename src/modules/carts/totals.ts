/**
 * Cart totals: pure integer arithmetic in minor units, no I/O, the same for every currency (a zero-decimal
 * currency such as JPY simply has yen as its minor unit).
 *
 * The rule, step by step:
 * 1. A line's subtotal is unit price × quantity, as the region shows prices (with tax when the region's prices
 *    include it, without otherwise). The cart's subtotal is their sum.
 * 2. The discount is taken off the subtotal once: a percentage is rounded half away from zero on the whole
 *    subtotal; a fixed amount is capped at the subtotal. It is then allocated across the lines in proportion to
 *    their subtotals by largest remainder (ties go to the earlier line), so the line discounts add up to it
 *    exactly. Discounts never reduce shipping.
 * 3. Tax is computed per line, on the line's subtotal after its discount, and once on shipping, each rounded
 *    half away from zero (src/lib/money.ts): extracted from the amount when prices include tax, added to it
 *    otherwise. The cart's tax is the sum of those. Per line, so every order line carries a tax that refunds of
 *    that line can return; the sum may differ by a few minor units from tax computed on the cart's total.
 * 4. Total = subtotal − discount + shipping, plus tax only when prices exclude it.
 */
import { mulDivRound, taxBreakdown } from '../../lib/money';
import type { DiscountTerms } from '../discounts/rules';

export type TaxRule = { rateBps: number; pricesIncludeTax: boolean };
export type PricedLine = { unitPrice: number; quantity: number };

export type LineTotals = {
  subtotal: number;
  discount: number;
  tax: number;
  /** What the shopper pays for the line: after its discount, with tax. */
  total: number;
};

export type CartTotals = {
  lines: LineTotals[];
  subtotal: number;
  discount: number;
  shipping: number;
  /** Tax on shipping, part of `tax`. */
  shippingTax: number;
  tax: number;
  total: number;
  taxInclusive: boolean;
};

/** What the discount takes off `subtotal`. */
export function discountAmount(subtotal: number, terms: DiscountTerms | null): number {
  if (!terms) return 0;
  return terms.type === 'percentage'
    ? mulDivRound(subtotal, terms.bps, 10_000)
    : Math.min(terms.amount, subtotal);
}

/**
 * Splits `amount` across `weights` in proportion, by largest remainder: each share is rounded down, and the
 * units left over go one each to the largest remainders (earlier first on a tie). The shares add up to
 * `amount` exactly. Products are taken in BigInt, so any safe-integer amounts split exactly.
 *
 * @example allocate(10, [1, 1, 1]) // [4, 3, 3]
 */
export function allocate(amount: number, weights: number[]): number[] {
  const whole = weights.reduce((sum, w) => sum + BigInt(w), 0n);
  if (whole === 0n) return weights.map(() => 0);
  const shares = weights.map((w, index) => {
    const exact = BigInt(amount) * BigInt(w);
    return { index, floor: Number(exact / whole), remainder: exact % whole };
  });
  let left = amount - shares.reduce((sum, s) => sum + s.floor, 0);
  const byRemainder = [...shares].sort((a, b) =>
    a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1,
  );
  for (const share of byRemainder) {
    if (left === 0) break;
    share.floor += 1;
    left -= 1;
  }
  return shares.map((s) => s.floor);
}

/** The totals of `lines` (the available lines only) with a discount and a shipping price, under `tax`. */
export function cartTotals(input: {
  lines: PricedLine[];
  tax: TaxRule;
  discount: DiscountTerms | null;
  shipping: number;
}): CartTotals {
  const { rateBps, pricesIncludeTax } = input.tax;
  const subtotals = input.lines.map((line) => line.unitPrice * line.quantity);
  const subtotal = subtotals.reduce((sum, s) => sum + s, 0);
  const discount = discountAmount(subtotal, input.discount);
  const discounts = allocate(discount, subtotals);
  const lines = subtotals.map((lineSubtotal, index): LineTotals => {
    const taxable = lineSubtotal - (discounts[index] ?? 0);
    const tax = taxBreakdown(taxable, rateBps, pricesIncludeTax).taxAmount;
    return {
      subtotal: lineSubtotal,
      discount: discounts[index] ?? 0,
      tax,
      total: pricesIncludeTax ? taxable : taxable + tax,
    };
  });
  const shippingTax = taxBreakdown(input.shipping, rateBps, pricesIncludeTax).taxAmount;
  const tax = lines.reduce((sum, line) => sum + line.tax, 0) + shippingTax;
  return {
    lines,
    subtotal,
    discount,
    shipping: input.shipping,
    shippingTax,
    tax,
    total: subtotal - discount + input.shipping + (pricesIncludeTax ? 0 : tax),
    taxInclusive: pricesIncludeTax,
  };
}
