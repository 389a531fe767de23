/**
 * Money is an integer count of the currency's minor unit (cents, pence; yen have none) plus an ISO 4217 code.
 * Tax is computed on integers with round-half-up, so every figure shown to a shopper adds up exactly:
 * amount_including_tax = amount_excluding_tax + tax_amount.
 */

/** Amounts are below this: it keeps every sum of prices well inside exact double precision. */
export const MAX_AMOUNT = 1_000_000_000_000;

let knownCurrencies: Set<string> | undefined;

/** Decimal places of an ISO 4217 currency (JPY 0, EUR 2, KWD 3), or undefined if the runtime does not know it. */
export function minorUnits(currency: string): number | undefined {
  // Intl.NumberFormat formats any well-formed code (it gives "XYZ" 2 decimals), so it cannot tell a real
  // currency from an invented one; the runtime's list of supported currencies can.
  knownCurrencies ??= new Set(Intl.supportedValuesOf('currency'));
  if (!knownCurrencies.has(currency)) return undefined;
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
      .maximumFractionDigits;
  } catch {
    return undefined;
  }
}

export type TaxBreakdown = {
  /** What the shopper sees as the price: gross when the region shows prices with tax, net otherwise. */
  amount: number;
  taxAmount: number;
  amountExcludingTax: number;
  amountIncludingTax: number;
};

/**
 * Splits a stored price into net, tax and gross for a region.
 *
 * @param amount the stored price in minor units, entered as the region says (with or without tax)
 * @param taxRateBps the tax rate in basis points (1900 = 19%)
 * @param pricesIncludeTax whether stored prices already include tax
 * @example taxBreakdown(1190, 1900, true) // { amount: 1190, taxAmount: 190, amountExcludingTax: 1000, amountIncludingTax: 1190 }
 * @example taxBreakdown(1000, 825, false) // { amount: 1000, taxAmount: 83, amountExcludingTax: 1000, amountIncludingTax: 1083 }
 */
export function taxBreakdown(amount: number, taxRateBps: number, pricesIncludeTax: boolean): TaxBreakdown {
  if (pricesIncludeTax) {
    const net = mulDivRound(amount, 10_000, 10_000 + taxRateBps);
    return { amount, taxAmount: amount - net, amountExcludingTax: net, amountIncludingTax: amount };
  }
  const tax = mulDivRound(amount, taxRateBps, 10_000);
  return { amount, taxAmount: tax, amountExcludingTax: amount, amountIncludingTax: amount + tax };
}

/**
 * round(amount × numerator / denominator), halves away from zero, for non-negative integers. Exact for any
 * safe-integer amount (the product is taken in BigInt), so a large cart line is rounded like a small price.
 *
 * @example mulDivRound(1999, 1500, 10_000) // 300 (299.85 rounds up)
 */
export function mulDivRound(amount: number, numerator: number, denominator: number): number {
  const product = BigInt(amount) * BigInt(numerator);
  const divisor = BigInt(denominator);
  return Number((2n * product + divisor) / (2n * divisor));
}

/**
 * Formats minor units for display in a locale, e.g. formatMoney(1999, 'EUR', 'de') -> "19,99 €". A locale Intl
 * refuses (`de-12`: regions and customers stored before Locale required Intl to take it) is shown in its language.
 */
export function formatMoney(amount: number, currency: string, locale: string): string {
  const digits = minorUnits(currency) ?? 2;
  return numberFormat(locale, currency).format(amount / 10 ** digits);
}

function numberFormat(locale: string, currency: string): Intl.NumberFormat {
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency });
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    const language = locale.split('-')[0] ?? locale;
    return new Intl.NumberFormat(language, { style: 'currency', currency });
  }
}
