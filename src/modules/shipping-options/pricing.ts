/**
 * What a shipping option costs a cart, as a pure function of the option and two figures of the cart. The price
 * is in the region's currency and, like product prices, includes tax when the region's prices do.
 */
import type { ShippingOptionRow } from './schemas';

export type ShippingPricing = Pick<ShippingOptionRow, 'priceType' | 'amount' | 'weightTiers' | 'freeOver'>;

export type ShippedGoods = {
  /** The subtotal after discounts, which a free-shipping threshold is compared with. */
  discountedSubtotal: number;
  /** The weight of every available line (variants without a weight count as 0 g). */
  weightGrams: number;
};

/**
 * The option's price for the goods, or null when the option cannot carry them (heavier than its last tier).
 * Weight decides first: a threshold makes an option free, never able to carry more.
 *
 * @example shippingPrice({ priceType: 'flat', amount: 499, weightTiers: null, freeOver: 5000 }, { discountedSubtotal: 5000, weightGrams: 0 }) // 0
 */
export function shippingPrice(option: ShippingPricing, goods: ShippedGoods): number | null {
  const base =
    option.priceType === 'flat'
      ? option.amount
      : (option.weightTiers?.find((tier) => goods.weightGrams <= tier.maxGrams)?.amount ?? null);
  if (base === null) return null;
  return option.freeOver !== null && goods.discountedSubtotal >= option.freeOver ? 0 : base;
}
