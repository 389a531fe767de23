import { z } from '@hono/zod-openapi';
import {
  Handle,
  Id,
  Locale,
  someFieldToChange,
  Timestamp,
  translationMap,
  translationPatch,
  uniqueBy,
} from '../../lib/catalog-fields';
import { PageInfoSchema, PaginationQuery } from '../../lib/pagination';
import { optionsKey, optionsMismatch } from './admin-options';
import { AdminVariantSchema, CreateVariantBody } from './admin-variant-schemas';

export const PRODUCT_STATUSES = ['draft', 'active', 'archived'] as const;
const Status = z.enum(PRODUCT_STATUSES).openapi({ example: 'active' });

const ProductTranslation = z
  .object({
    title: z.string().trim().min(1).max(200).openapi({ example: 'Blue mug' }),
    description: z.string().max(10_000).default(''),
    seo_title: z.string().max(200).nullable().default(null),
    seo_description: z.string().max(500).nullable().default(null),
  })
  .strict()
  .openapi('ProductTranslation');

const IdList = z
  .array(Id)
  .max(100)
  .superRefine(uniqueBy((id) => id));

const Image = z
  .object({
    url: z.url({ protocol: /^https$/, error: 'Use an https URL' }).max(2048),
    alt: z.record(Locale, z.string().max(500)).default({}),
  })
  .strict()
  .openapi('ImageInput');

const ImageList = z.array(Image).max(50);

export const CreateProductBody = z
  .object({
    handle: Handle,
    status: Status.default('draft'),
    translations: translationMap(ProductTranslation),
    options: z
      .array(z.object({ name: z.string().trim().min(1).max(50) }).strict())
      .max(10)
      .superRefine(uniqueBy((o) => o.name, 'name'))
      .default([]),
    variants: z
      .array(CreateVariantBody)
      .max(100)
      .superRefine(uniqueBy((v) => v.sku, 'sku'))
      .default([]),
    category_ids: IdList.default([]),
    collection_ids: IdList.default([]),
    images: ImageList.default([]),
  })
  .strict()
  .superRefine((body, ctx) => {
    const names = body.options.map((o) => o.name);
    const combinations = new Set<string>();
    body.variants.forEach((variant, index) => {
      const path = ['variants', index, 'options'];
      const mismatch = optionsMismatch(names, variant.options);
      if (mismatch) ctx.addIssue({ code: 'custom', message: mismatch, path });
      const key = optionsKey(variant.options);
      if (combinations.has(key)) {
        ctx.addIssue({ code: 'custom', message: 'Another variant has the same options', path });
      }
      combinations.add(key);
    });
  })
  .openapi('CreateProduct');
export type CreateProductInput = z.infer<typeof CreateProductBody>;

export const UpdateProductBody = z
  .object({
    handle: Handle,
    status: Status,
    translations: translationPatch(ProductTranslation),
    category_ids: IdList,
    collection_ids: IdList,
    images: ImageList,
  })
  .partial()
  .strict()
  .refine(...someFieldToChange)
  .openapi('UpdateProduct', {
    description: 'category_ids, collection_ids and images replace the current lists',
  });
export type UpdateProductInput = z.infer<typeof UpdateProductBody>;

export const ListProductsQuery = z.object({
  ...PaginationQuery,
  status: Status.optional(),
  q: z.string().trim().min(1).max(100).optional().openapi({ description: 'Matches handle or any title' }),
});

export const AdminProductSchema = z
  .object({
    id: z.string().openapi({ example: 'prod_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    handle: z.string(),
    status: Status,
    translations: z.record(
      z.string(),
      z.object({
        title: z.string(),
        description: z.string(),
        seo_title: z.string().nullable(),
        seo_description: z.string().nullable(),
      }),
    ),
    options: z.array(z.object({ id: z.string(), name: z.string(), position: z.number().int() })),
    variants: z.array(AdminVariantSchema),
    category_ids: z.array(z.string()),
    collection_ids: z.array(z.string()),
    images: z.array(
      z.object({
        id: z.string(),
        url: z.string(),
        alt: z.record(z.string(), z.string()),
        position: z.number().int(),
      }),
    ),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('AdminProduct');
export type AdminProduct = z.infer<typeof AdminProductSchema>;

export const AdminProductListSchema = z
  .object({ data: z.array(AdminProductSchema), page: PageInfoSchema })
  .openapi('AdminProductList');
