import { z } from '@hono/zod-openapi';
import { SHIPPING_PRICE_TYPES, type shippingOptions } from '../../db/schema';
import { iso, someFieldToChange, Timestamp } from '../../lib/catalog-fields';
import { MAX_AMOUNT } from '../../lib/money';
import { PageInfoSchema, PaginationQuery } from '../../lib/pagination';

/** A tiered option has at most this many tiers: enough for any carrier table, small enough to scan per cart. */
export const MAX_WEIGHT_TIERS = 20;

const Amount = z
  .number()
  .int()
  .min(0)
  .lt(MAX_AMOUNT)
  .openapi({ example: 499, description: 'Integer minor units of the region’s currency' });

const WeightTierSchema = z
  .object({
    max_weight_grams: z.number().int().min(1).max(10_000_000).openapi({
      example: 2000,
      description: 'Carts weighing up to this many grams (inclusive) pay `amount`',
    }),
    amount: Amount,
  })
  .strict()
  .openapi('WeightTier');

const optionFields = {
  region_id: z.string().min(1).max(64).openapi({ example: 'reg_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
  name: z.string().trim().min(1).max(100).openapi({ example: 'Standard (2-4 days)' }),
  price_type: z.enum(SHIPPING_PRICE_TYPES).openapi({
    description: '`flat`: `amount` whatever the cart; `weight`: the first tier the cart’s weight fits',
  }),
  amount: Amount.nullable().openapi({ description: 'The price of a `flat` option; null for `weight`' }),
  weight_tiers: z
    .array(WeightTierSchema)
    .min(1)
    .max(MAX_WEIGHT_TIERS)
    .nullable()
    .openapi({
      description:
        'Tiers of a `weight` option, ascending by `max_weight_grams`; a cart heavier than the last tier cannot ' +
        'use the option. Null for `flat`.',
    }),
  free_over: Amount.nullable().openapi({
    example: 5000,
    description: 'Free when the cart’s subtotal after discounts reaches this amount; null: never free',
  }),
  active: z.boolean().openapi({ description: 'Inactive options are offered to no cart' }),
};

export const CreateShippingOptionBody = z
  .object({
    ...optionFields,
    amount: optionFields.amount.optional(),
    weight_tiers: optionFields.weight_tiers.optional(),
    free_over: optionFields.free_over.optional(),
    active: optionFields.active.optional(),
  })
  .strict()
  .openapi('CreateShippingOption');
export type CreateShippingOptionInput = z.infer<typeof CreateShippingOptionBody>;

export const UpdateShippingOptionBody = z
  .object(optionFields)
  .omit({ region_id: true })
  .partial()
  .strict()
  .refine(...someFieldToChange)
  .openapi('UpdateShippingOption');
export type UpdateShippingOptionInput = z.infer<typeof UpdateShippingOptionBody>;

export const ShippingOptionSchema = z
  .object({
    id: z.string().openapi({ example: 'ship_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    region_id: z.string(),
    name: z.string(),
    price_type: z.enum(SHIPPING_PRICE_TYPES),
    amount: z.number().int().nullable(),
    weight_tiers: z.array(WeightTierSchema).nullable(),
    free_over: z.number().int().nullable(),
    active: z.boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('ShippingOption');
export type ShippingOptionView = z.infer<typeof ShippingOptionSchema>;

export const ShippingOptionListSchema = z
  .object({ data: z.array(ShippingOptionSchema), page: PageInfoSchema })
  .openapi('ShippingOptionList');

export const ShippingOptionListQuery = z.object({
  ...PaginationQuery,
  region_id: z.string().max(64).optional().openapi({ description: 'Only the options of this region' }),
});

export const ShippingOptionParams = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'ship_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
});

export type ShippingOptionRow = typeof shippingOptions.$inferSelect;

export function serializeShippingOption(row: ShippingOptionRow): ShippingOptionView {
  return {
    id: row.id,
    region_id: row.regionId,
    name: row.name,
    price_type: row.priceType,
    amount: row.amount,
    weight_tiers: row.weightTiers?.map((t) => ({ max_weight_grams: t.maxGrams, amount: t.amount })) ?? null,
    free_over: row.freeOver,
    active: row.active,
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
  };
}
