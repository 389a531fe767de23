import { z } from '@hono/zod-openapi';
import { PageInfoSchema, PaginationQuery } from '../../lib/pagination';
import { StoreContextQuery, StoreContextSchema } from '../regions/schemas';

export const ListCollectionsQuery = z.object({ ...StoreContextQuery, ...PaginationQuery });
export type ListCollectionsQuery = z.infer<typeof ListCollectionsQuery>;

export const StoreCollectionSchema = z
  .object({
    id: z.string().openapi({ example: 'col_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    handle: z.string().openapi({ example: 'summer' }),
    title: z.string(),
    description: z.string(),
  })
  .openapi('StoreCollection');

export const CollectionListSchema = z
  .object({ context: StoreContextSchema, data: z.array(StoreCollectionSchema), page: PageInfoSchema })
  .openapi('StoreCollectionList');
