import { z } from '@hono/zod-openapi';
import { StoreContextSchema } from '../regions/schemas';

type CategoryNode = {
  id: string;
  handle: string;
  name: string;
  description: string;
  children: CategoryNode[];
};

export const CategoryNodeSchema: z.ZodType<CategoryNode> = z
  .object({
    id: z.string().openapi({ example: 'cat_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    handle: z.string().openapi({ example: 'shirts' }),
    name: z.string(),
    description: z.string(),
    children: z.array(z.lazy(() => CategoryNodeSchema)),
  })
  .openapi('StoreCategory');

export type StoreCategory = CategoryNode;

export const CategoryTreeSchema = z
  .object({ context: StoreContextSchema, data: z.array(CategoryNodeSchema) })
  .openapi('StoreCategoryTree');
