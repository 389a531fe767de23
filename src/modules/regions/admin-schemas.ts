import { z } from '@hono/zod-openapi';
import { Currency, Locale, someFieldToChange, Timestamp, uniqueBy } from '../../lib/catalog-fields';
import { PageInfoSchema } from '../../lib/pagination';

const Country = z
  .string()
  .regex(/^[A-Z]{2}$/, 'Use an uppercase ISO 3166-1 alpha-2 code such as "DE"')
  .openapi({ example: 'DE' });

const regionFields = {
  code: z
    .string()
    .regex(/^[a-z0-9-]{1,32}$/, 'Use 1-32 lowercase letters, digits or hyphens')
    .openapi({ example: 'eu' }),
  name: z.string().trim().min(1).max(100).openapi({ example: 'European Union' }),
  currency: Currency,
  tax_rate_bps: z
    .number()
    .int()
    .min(0)
    .max(10_000)
    .openapi({ example: 1900, description: 'Tax rate in basis points (1900 = 19%)' }),
  prices_include_tax: z
    .boolean()
    .openapi({ description: 'Whether prices entered for this region include tax' }),
  locales: z
    .array(Locale)
    .min(1)
    .max(20)
    .superRefine(uniqueBy((l) => l))
    .openapi({ example: ['de', 'en'], description: 'Offered locales; the first is the default' }),
  countries: z
    .array(Country)
    .max(250)
    .superRefine(uniqueBy((c) => c))
    .openapi({ example: ['DE', 'FR', 'NL'], description: 'Countries served; each in at most one region' }),
};

export const CreateRegionBody = z.object(regionFields).strict().openapi('CreateRegion');
export type CreateRegionInput = z.infer<typeof CreateRegionBody>;

export const UpdateRegionBody = z
  .object(regionFields)
  .partial()
  .strict()
  .refine(...someFieldToChange)
  .openapi('UpdateRegion');
export type UpdateRegionInput = z.infer<typeof UpdateRegionBody>;

export const AdminRegionSchema = z
  .object({
    id: z.string().openapi({ example: 'reg_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    code: z.string(),
    name: z.string(),
    currency: z.string(),
    tax_rate_bps: z.number().int(),
    prices_include_tax: z.boolean(),
    locales: z.array(z.string()),
    countries: z.array(z.string()),
    storefront_rebuild_since: Timestamp.nullable().openapi({
      description:
        'While the storefront catches up with a change of currency or locales (large catalogs are rebuilt in steps after the change), when that change was made; null once every product shows it.',
    }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('AdminRegion');
export type AdminRegion = z.infer<typeof AdminRegionSchema>;

export const AdminRegionListSchema = z
  .object({ data: z.array(AdminRegionSchema), page: PageInfoSchema })
  .openapi('AdminRegionList');
