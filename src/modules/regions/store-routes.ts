import { z } from '@hono/zod-openapi';
import { jsonContent, problems, publicRoute } from '../../lib/openapi';
import { RegionListSchema, StoreContextQuery } from './schemas';

export const listRegions = publicRoute({
  method: 'get',
  path: '/regions',
  tags: ['Store: regions'],
  summary: 'List the regions the store sells in',
  request: { query: z.object(StoreContextQuery) },
  responses: {
    200: jsonContent(RegionListSchema, 'Regions, with the context resolved for this shopper'),
    ...problems(422),
  },
});
