import { z } from '@hono/zod-openapi';
import { formatMoney, taxBreakdown } from '../../lib/money';
import type { RegionInfo } from '../../lib/store-context';

export const PriceSchema = z
  .object({
    currency: z.string().openapi({ example: 'EUR' }),
    amount: z
      .number()
      .int()
      .openapi({ example: 1999, description: 'What the region displays, in minor units' }),
    tax_inclusive: z.boolean(),
    tax_rate: z.number().openapi({ example: 0.19 }),
    tax_amount: z.number().int().openapi({ example: 319 }),
    amount_excluding_tax: z.number().int().openapi({ example: 1680 }),
    amount_including_tax: z.number().int().openapi({ example: 1999 }),
    formatted: z.string().openapi({ example: '19,99 €' }),
  })
  .openapi('Price');

export type Price = z.infer<typeof PriceSchema>;

/** A stored price as the shopper's region shows it: gross or net, with the tax split out exactly. */
export function priceFor(amount: number, region: RegionInfo, locale: string): Price {
  const tax = taxBreakdown(amount, region.taxRateBps, region.pricesIncludeTax);
  return {
    currency: region.currencyCode,
    amount: tax.amount,
    tax_inclusive: region.pricesIncludeTax,
    tax_rate: region.taxRateBps / 10_000,
    tax_amount: tax.taxAmount,
    amount_excluding_tax: tax.amountExcludingTax,
    amount_including_tax: tax.amountIncludingTax,
    formatted: formatMoney(amount, region.currencyCode, locale),
  };
}
