import { z } from '@hono/zod-openapi';
import type { StoreContext } from '../../lib/store-context';

export const StoreContextSchema = z
  .object({
    country: z
      .string()
      .nullable()
      .openapi({ example: 'DE', description: 'Country the edge located the shopper in' }),
    region: z.string().openapi({ example: 'eu' }),
    currency: z.string().openapi({ example: 'EUR' }),
    locale: z.string().openapi({ example: 'de' }),
    tax_inclusive: z.boolean().openapi({ description: 'Whether displayed prices include tax' }),
    tax_rate: z.number().openapi({ example: 0.19, description: 'The region tax rate as a fraction' }),
  })
  .openapi('StoreContext');

export function serializeStoreContext(store: StoreContext): z.infer<typeof StoreContextSchema> {
  return {
    country: store.country,
    region: store.region.code,
    currency: store.region.currencyCode,
    locale: store.locale,
    tax_inclusive: store.region.pricesIncludeTax,
    tax_rate: store.region.taxRateBps / 10_000,
  };
}

/** Query parameters every storefront route accepts to override what the edge decided. */
export const StoreContextQuery = {
  region: z
    .string()
    .regex(/^[a-z0-9-]{1,32}$/)
    .optional()
    .openapi({ description: 'Region code; defaults to the region of the shopper’s country', example: 'eu' }),
  locale: z
    .string()
    .regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/)
    .optional()
    .openapi({
      description: 'Locale; defaults to the best Accept-Language match in the region',
      example: 'de',
    }),
};

export const RegionSchema = z
  .object({
    id: z.string().openapi({ example: 'reg_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    code: z.string().openapi({ example: 'eu' }),
    name: z.string().openapi({ example: 'European Union' }),
    currency: z.string().openapi({ example: 'EUR' }),
    tax_rate: z.number().openapi({ example: 0.19 }),
    tax_inclusive: z.boolean(),
    locales: z.array(z.string()).openapi({ example: ['de', 'en'] }),
    countries: z.array(z.string()).openapi({ example: ['DE', 'FR', 'NL'] }),
  })
  .openapi('Region');

export const RegionListSchema = z
  .object({ context: StoreContextSchema, data: z.array(RegionSchema) })
  .openapi('RegionList');
