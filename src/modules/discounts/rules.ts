/**
 * Whether a discount applies to a cart, as a pure function of the discount, what the cart is and how often the
 * code was used. The same rules answer a shopper entering a code (422 with the reason), every cart read (the
 * code is shown as not applicable, with the reason, never silently removed) and checkout.
 */
import type { DiscountRow } from './schemas';

/** What a discount takes off a subtotal: a share in basis points, or an amount (at most the subtotal). */
export type DiscountTerms = { type: 'percentage'; bps: number } | { type: 'fixed'; amount: number };

export const DISCOUNT_REFUSALS = {
  discount_code_invalid: 'There is no active discount with this code.',
  discount_not_started: 'This discount code is not valid yet.',
  discount_expired: 'This discount code has expired.',
  discount_region_excluded: 'This discount code is not valid in the cart’s region.',
  discount_currency_mismatch: 'This discount code is not valid in the cart’s currency.',
  discount_minimum_not_met: 'The cart’s subtotal is below the minimum for this discount code.',
  discount_usage_limit_reached: 'This discount code has been used up.',
  discount_customer_limit_reached: 'This discount code has already been used as often as one customer may.',
} as const;

export type DiscountRefusal = keyof typeof DISCOUNT_REFUSALS;

export type CartFacts = {
  regionId: string | null;
  currency: string;
  /** Before discounts, of the lines that are available. */
  subtotal: number;
  now: Date;
};

/** Redemptions so far: in total, and by this customer (their id, or the cart's email for a guest). */
export type DiscountUsage = { total: number; byCustomer: number };

/** Why the discount (null: no discount has the code) does not apply to the cart, or null when it does. */
export function discountRefusal(
  discount: DiscountRow | null,
  cart: CartFacts,
  usage: DiscountUsage,
): DiscountRefusal | null {
  if (!discount) return 'discount_code_invalid';
  return validityRefusal(discount, cart.now) ?? cartRefusal(discount, cart) ?? usageRefusal(discount, usage);
}

/**
 * What checkout's redemption statement decides again inside the order's batch (validity and limits), for its
 * recheck: the cart-dependent rules were settled when the cart was loaded in the same request.
 */
export function redemptionRefusal(
  discount: DiscountRow | null,
  now: Date,
  usage: DiscountUsage,
): DiscountRefusal | null {
  if (!discount) return 'discount_code_invalid';
  return validityRefusal(discount, now) ?? usageRefusal(discount, usage);
}

function validityRefusal(discount: DiscountRow, now: Date): DiscountRefusal | null {
  if (!discount.active) return 'discount_code_invalid';
  if (discount.startsAt && now.getTime() < discount.startsAt.getTime()) return 'discount_not_started';
  if (discount.endsAt && now.getTime() >= discount.endsAt.getTime()) return 'discount_expired';
  return null;
}

function cartRefusal(discount: DiscountRow, cart: CartFacts): DiscountRefusal | null {
  if (discount.regionIds && !(cart.regionId && discount.regionIds.includes(cart.regionId))) {
    return 'discount_region_excluded';
  }
  const currency = discount.currencyCode;
  if (currency !== null && currency !== cart.currency) return 'discount_currency_mismatch';
  if (discount.minimumSubtotal !== null && cart.subtotal < discount.minimumSubtotal) {
    return 'discount_minimum_not_met';
  }
  return null;
}

function usageRefusal(discount: DiscountRow, usage: DiscountUsage): DiscountRefusal | null {
  if (discount.usageLimit !== null && usage.total >= discount.usageLimit)
    return 'discount_usage_limit_reached';
  if (discount.usageLimitPerCustomer !== null && usage.byCustomer >= discount.usageLimitPerCustomer) {
    return 'discount_customer_limit_reached';
  }
  return null;
}

/** What the discount takes off, for the totals. */
export function discountTerms(discount: DiscountRow): DiscountTerms {
  return discount.type === 'percentage'
    ? { type: 'percentage', bps: discount.percentageBps ?? 0 }
    : { type: 'fixed', amount: discount.amount ?? 0 };
}
