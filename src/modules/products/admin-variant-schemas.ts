import { z } from '@hono/zod-openapi';
import { Currency, someFieldToChange, Timestamp, uniqueBy } from '../../lib/catalog-fields';
import { MAX_AMOUNT } from '../../lib/money';

/**
 * A price as staff set it. Named apart from the storefront's `Price` (./price.ts), whose shape (tax split,
 * formatted) is what a region shows: under one name, the document gave staff writes the storefront's shape.
 */
export const PriceInputSchema = z
  .object({
    currency: Currency,
    amount: z
      .number()
      .int()
      .min(0)
      .lt(MAX_AMOUNT)
      .openapi({ example: 1999, description: 'Integer minor units (1999 = 19.99 EUR)' }),
  })
  .strict()
  .openapi('PriceInput');
export type PriceInput = z.infer<typeof PriceInputSchema>;

export const PriceList = z
  .array(PriceInputSchema)
  .max(50)
  .superRefine(uniqueBy((p) => p.currency, 'currency'));

const variantFields = {
  sku: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'Use letters, digits and . _ / - (no spaces)')
    .openapi({ example: 'MUG-BLUE-M' }),
  title: z.string().trim().min(1).max(200).openapi({ example: 'Blue / M' }),
  options: z
    .record(z.string().min(1).max(50), z.string().trim().min(1).max(100))
    .openapi({ example: { Size: 'M' }, description: 'A value for every product option, and nothing else' }),
  weight_grams: z.number().int().min(0).max(10_000_000).nullable(),
  barcode: z.string().trim().min(1).max(64).nullable(),
};

export const CreateVariantBody = z
  .object({
    ...variantFields,
    options: variantFields.options.default({}),
    weight_grams: variantFields.weight_grams.default(null),
    barcode: variantFields.barcode.default(null),
    prices: PriceList.default([]),
  })
  .strict()
  .openapi('CreateVariant');
export type CreateVariantInput = z.infer<typeof CreateVariantBody>;

export const UpdateVariantBody = z
  .object({ ...variantFields, position: z.number().int().min(0).max(10_000) })
  .partial()
  .strict()
  .refine(...someFieldToChange)
  .openapi('UpdateVariant');
export type UpdateVariantInput = z.infer<typeof UpdateVariantBody>;

export const PutPricesBody = z
  .object({ prices: PriceList })
  .strict()
  .openapi('PutPrices', { description: 'The complete price list; currencies left out lose their price' });

export const AdminVariantSchema = z
  .object({
    id: z.string().openapi({ example: 'var_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    product_id: z.string(),
    sku: z.string(),
    title: z.string(),
    options: z.record(z.string(), z.string()),
    weight_grams: z.number().int().nullable(),
    barcode: z.string().nullable(),
    position: z.number().int(),
    prices: z.array(z.object({ currency: z.string(), amount: z.number().int() })),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('AdminVariant');
export type AdminVariant = z.infer<typeof AdminVariantSchema>;
