import { z } from '@hono/zod-openapi';
import {
  Handle,
  Id,
  someFieldToChange,
  Timestamp,
  translationMap,
  translationPatch,
} from '../../lib/catalog-fields';
import { PageInfoSchema, PaginationQuery } from '../../lib/pagination';

const CategoryTranslation = z
  .object({
    name: z.string().trim().min(1).max(200).openapi({ example: 'Kitchen' }),
    description: z.string().max(10_000).default(''),
  })
  .strict()
  .openapi('CategoryTranslation');

const fields = {
  handle: Handle,
  parent_id: Id.nullable().openapi({ description: 'The parent category; null for a top-level category' }),
  position: z.number().int().min(0).max(10_000).openapi({ description: 'Order among siblings' }),
};

export const CreateCategoryBody = z
  .object({
    ...fields,
    parent_id: fields.parent_id.default(null),
    position: fields.position.default(0),
    translations: translationMap(CategoryTranslation),
  })
  .strict()
  .openapi('CreateCategory');
export type CreateCategoryInput = z.infer<typeof CreateCategoryBody>;

export const UpdateCategoryBody = z
  .object({ ...fields, translations: translationPatch(CategoryTranslation) })
  .partial()
  .strict()
  .refine(...someFieldToChange)
  .openapi('UpdateCategory');
export type UpdateCategoryInput = z.infer<typeof UpdateCategoryBody>;

export const ListCategoriesQuery = z.object({
  ...PaginationQuery,
  parent_id: z
    .string()
    .max(64)
    .optional()
    .openapi({ description: 'Only the children of this category; `root` for top-level categories' }),
});

export const AdminCategorySchema = z
  .object({
    id: z.string().openapi({ example: 'cat_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    handle: z.string(),
    parent_id: z.string().nullable(),
    position: z.number().int(),
    translations: z.record(z.string(), z.object({ name: z.string(), description: z.string() })),
    storefront_rebuild_since: Timestamp.nullable().openapi({
      description:
        'While the storefront catches up with a move of the category (its products are listed under their new ancestors in steps after the move when they are many), when that move was made; null once every product is listed where the move puts it.',
    }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('AdminCategory');
export type AdminCategory = z.infer<typeof AdminCategorySchema>;

export const AdminCategoryListSchema = z
  .object({ data: z.array(AdminCategorySchema), page: PageInfoSchema })
  .openapi('AdminCategoryList');
