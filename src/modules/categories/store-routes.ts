import { createRoute, z } from '@hono/zod-openapi';
import { jsonContent, problems } from '../../lib/openapi';
import { StoreContextQuery } from '../regions/schemas';
import { CategoryTreeSchema } from './store-schemas';

export const categoryTree = createRoute({
  method: 'get',
  path: '/categories',
  tags: ['Store: catalog'],
  summary: 'The category tree, in the shopper’s language',
  request: { query: z.object(StoreContextQuery) },
  responses: {
    200: jsonContent(CategoryTreeSchema, 'Root categories with their children'),
    ...problems(422),
  },
});
