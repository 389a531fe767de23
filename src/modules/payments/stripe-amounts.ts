/**
 * Amounts as Stripe's API states them. edgecart counts money in the minor unit of the runtime's ISO 4217 data
 * (src/lib/money.ts), which gives ISK, HUF, IDR or COP no decimals; Stripe's API keeps every currency two-decimal
 * except the zero- and three-decimal ones it lists (https://docs.stripe.com/currencies), so 5,980 kr is `598000`
 * on the wire ("an ISK amount of 100 will continue to represent 1 króna"). Every amount sent to Stripe or read
 * from its objects crosses here.
 */
import { minorUnits } from '../../lib/money';

/** Stripe's zero-decimal currencies: the amount is the charge, without multiplying. */
const ZERO_DECIMAL = new Set([
  'BIF',
  'CLP',
  'DJF',
  'GNF',
  'JPY',
  'KMF',
  'KRW',
  'MGA',
  'PYG',
  'RWF',
  'UGX',
  'VND',
  'VUV',
  'XAF',
  'XOF',
  'XPF',
]);

/**
 * Stripe's three-decimal currencies, whose amounts must end in 0 for its payment partners ("round amounts to the
 * nearest ten").
 */
const THREE_DECIMAL = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND']);
const THREE_DECIMAL_STEP = 10;

function stripeDecimals(currency: string): number {
  if (ZERO_DECIMAL.has(currency)) return 0;
  return THREE_DECIMAL.has(currency) ? 3 : 2;
}

/** Powers of ten from edgecart's minor unit to Stripe's: 2 for ISK, 0 for EUR, JPY and KWD. */
function shiftOf(currency: string): number {
  const code = currency.toUpperCase();
  const stripe = stripeDecimals(code);
  return stripe - (minorUnits(code) ?? stripe);
}

/**
 * `amount` (edgecart's minor units of `currency`) as Stripe's amount, or null when Stripe cannot charge it
 * exactly: a three-decimal amount not ending in 0, or a figure finer than Stripe's unit.
 */
export function toStripeAmount(amount: number, currency: string): number | null {
  const shift = shiftOf(currency);
  const stripe = shift >= 0 ? amount * 10 ** shift : amount / 10 ** -shift;
  if (!Number.isSafeInteger(stripe)) return null;
  if (THREE_DECIMAL.has(currency.toUpperCase()) && stripe % THREE_DECIMAL_STEP !== 0) return null;
  return stripe;
}

/**
 * A Stripe amount of `currency` in edgecart's minor units. Stripe states the currencies edgecart counts in whole
 * units in multiples of 100 for anything it charges (ISK always; HUF as edgecart charges it); a fraction someone
 * typed in Stripe's dashboard (a HUF refund of 1,000.30 Ft) is rounded, `up` or to the nearest.
 */
export function fromStripeAmount(
  amount: number,
  currency: string,
  rounding: 'nearest' | 'up' = 'nearest',
): number {
  const shift = shiftOf(currency);
  if (shift < 0) return amount * 10 ** -shift;
  const units = amount / 10 ** shift;
  return rounding === 'up' ? Math.ceil(units) : Math.round(units);
}

/**
 * The refunds of one charge, oldest first, in edgecart's minor units. Those returning money are each the step of
 * their running total, so they add up to their total converted once, as Stripe's charge states it (two HUF
 * refunds of 2,990.50 Ft and 2,989.50 Ft are 2,991 and 2,989, never more than the 5,980 charged). Failed ones
 * are rounded up, so a list that holds every refund the charge counts never sums to less than the charge says.
 */
export function fromStripeRefunds<T extends { amount: number; failed: boolean }>(
  refunds: readonly T[],
  currency: string,
): T[] {
  let stated = 0;
  let converted = 0;
  return refunds.map((refund) => {
    if (refund.failed) return { ...refund, amount: fromStripeAmount(refund.amount, currency, 'up') };
    stated += refund.amount;
    const total = fromStripeAmount(stated, currency);
    const amount = total - converted;
    converted = total;
    return { ...refund, amount };
  });
}
