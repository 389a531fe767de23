import { z } from '@hono/zod-openapi';
import { PageInfoSchema, PaginationQuery } from '../../lib/pagination';
import { queryInteger } from '../../lib/query-integer';
import { StoreContextQuery, StoreContextSchema } from '../regions/schemas';
import { PriceSchema } from './price';

export const PRODUCT_SORTS = [
  'newest',
  'price_asc',
  'price_desc',
  'title_asc',
  'title_desc',
  'relevance',
] as const;
export type ProductSort = (typeof PRODUCT_SORTS)[number];

const OptionFilter = z
  .string()
  .regex(/^[^:]{1,64}:.{1,128}$/, 'Use Name:Value, e.g. Color:Blue')
  .transform((s) => {
    const at = s.indexOf(':');
    return { name: s.slice(0, at), value: s.slice(at + 1) };
  });

/** An option value a listing is filtered by. */
export type OptionValue = z.output<typeof OptionFilter>;

export const ListProductsQuery = z
  .object({
    ...StoreContextQuery,
    ...PaginationQuery,
    q: z.string().trim().min(1).max(200).optional().openapi({
      description:
        "Full-text search: every word must be in the title or description, in one of the region's locales; the last word matches as a prefix. Accents and case are ignored, typed composed or decomposed (NFC or NFD).",
      example: 'linen shirt',
    }),
    category: z
      .string()
      .max(128)
      .optional()
      .openapi({ description: 'Category handle; includes subcategories' }),
    collection: z.string().max(128).optional().openapi({ description: 'Collection handle' }),
    price_min: queryInteger(0).optional().openapi({ description: 'Minor units, region currency' }),
    price_max: queryInteger(0).optional().openapi({ description: 'Minor units, region currency' }),
    option: z
      .union([OptionFilter, z.array(OptionFilter).max(10)])
      .optional()
      .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]))
      .openapi({
        param: { style: 'form', explode: true },
        type: 'array',
        items: { type: 'string' },
        description:
          'Repeatable `Name:Value`; a product matches when one variant has them all (two values of one option: none)',
        example: ['Color:Blue'],
      }),
    sort: z.enum(PRODUCT_SORTS).optional().openapi({
      description:
        'Default: relevance with q, else newest. relevance: the products with every word in a title first, then the others; within each, the latest listed in the region first.',
    }),
  })
  .superRefine((query, ctx) => {
    if (query.sort === 'relevance' && !query.q) {
      ctx.addIssue({ code: 'custom', path: ['sort'], message: 'relevance needs a search query (q)' });
    }
    if (query.price_min !== undefined && query.price_max !== undefined && query.price_min > query.price_max) {
      ctx.addIssue({ code: 'custom', path: ['price_min'], message: 'price_min must not exceed price_max' });
    }
  });

export type ListProductsQuery = z.infer<typeof ListProductsQuery>;

export const ProductParams = z.object({
  handle: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,127}$/)
    .openapi({ param: { name: 'handle', in: 'path' }, example: 'linen-shirt' }),
});

const VariantSchema = z
  .object({
    id: z.string(),
    sku: z.string(),
    title: z.string(),
    options: z.record(z.string(), z.string()).openapi({ example: { Size: 'M', Color: 'Blue' } }),
    weight_grams: z.number().int().nullable(),
    barcode: z.string().nullable(),
    price: PriceSchema,
  })
  .openapi('StoreVariant');

export const ProductSchema = z
  .object({
    id: z.string().openapi({ example: 'prod_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    handle: z.string().openapi({ example: 'linen-shirt' }),
    title: z.string(),
    description: z.string(),
    seo: z.object({ title: z.string(), description: z.string() }),
    locale: z.string().openapi({ description: 'The locale the text is in (the fallback when untranslated)' }),
    categories: z.array(z.object({ id: z.string(), handle: z.string(), name: z.string() })),
    collections: z.array(z.object({ id: z.string(), handle: z.string(), title: z.string() })),
    images: z.array(z.object({ url: z.string(), alt: z.string(), position: z.number().int() })),
    options: z.array(z.object({ name: z.string(), values: z.array(z.string()) })),
    variants: z.array(VariantSchema).openapi({ description: 'Only variants priced in the region currency' }),
    price_range: z.object({ min: PriceSchema, max: PriceSchema }),
    created_at: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('StoreProduct');

export type StoreProduct = z.infer<typeof ProductSchema>;

export const ProductListSchema = z
  .object({ context: StoreContextSchema, data: z.array(ProductSchema), page: PageInfoSchema })
  .openapi('StoreProductList');

export const ProductDetailSchema = z
  .object({ context: StoreContextSchema, product: ProductSchema })
  .openapi('StoreProductDetail');
