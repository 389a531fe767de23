import { z } from '@hono/zod-openapi';
import { jsonContent, problems, publicRoute } from '../../lib/openapi';
import { StoreContextQuery } from '../regions/schemas';
import { CategoryTreeSchema } from './store-schemas';

export const categoryTree = publicRoute({
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
