import { z } from '@hono/zod-openapi';
import {
  Handle,
  Id,
  someFieldToChange,
  Timestamp,
  translationMap,
  translationPatch,
  uniqueBy,
} from '../../lib/catalog-fields';
import { PageInfoSchema, PaginationQuery } from '../../lib/pagination';

const CollectionTranslation = z
  .object({
    title: z.string().trim().min(1).max(200).openapi({ example: 'Summer picks' }),
    description: z.string().max(10_000).default(''),
  })
  .strict()
  .openapi('CollectionTranslation');

const ProductIds = z
  .array(Id)
  .max(1000)
  .superRefine(uniqueBy((id) => id))
  .openapi({ description: 'The products in the collection; replaces the current list' });

export const CreateCollectionBody = z
  .object({
    handle: Handle,
    translations: translationMap(CollectionTranslation),
    product_ids: ProductIds.default([]),
  })
  .strict()
  .openapi('CreateCollection');
export type CreateCollectionInput = z.infer<typeof CreateCollectionBody>;

export const UpdateCollectionBody = z
  .object({ handle: Handle, translations: translationPatch(CollectionTranslation), product_ids: ProductIds })
  .partial()
  .strict()
  .refine(...someFieldToChange)
  .openapi('UpdateCollection');
export type UpdateCollectionInput = z.infer<typeof UpdateCollectionBody>;

export const ListCollectionsQuery = z.object(PaginationQuery);

export const AdminCollectionSchema = z
  .object({
    id: z.string().openapi({ example: 'col_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    handle: z.string(),
    translations: z.record(z.string(), z.object({ title: z.string(), description: z.string() })),
    product_ids: z.array(z.string()),
    storefront_rebuild_since: Timestamp.nullable().openapi({
      description:
        'While the storefront catches up with a new product list of the collection (its products are relisted in steps after the change when they are many), when that change was made; null once every product is listed as the collection says.',
    }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('AdminCollection');
export type AdminCollection = z.infer<typeof AdminCollectionSchema>;

export const AdminCollectionListSchema = z
  .object({ data: z.array(AdminCollectionSchema), page: PageInfoSchema })
  .openapi('AdminCollectionList');
