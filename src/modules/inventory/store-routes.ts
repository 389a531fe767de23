import { z } from '@hono/zod-openapi';
import { jsonContent, problems, publicRoute } from '../../lib/openapi';
import { AvailabilityParams, AvailabilityQuery, ProductAvailabilitySchema } from './store-schemas';

export const getAvailability = publicRoute({
  method: 'get',
  path: '/products/{id}/availability',
  tags: ['Store: products'],
  summary: 'Exact stock of a product’s variants now (never cached; listings show levels instead)',
  request: { params: AvailabilityParams, query: AvailabilityQuery },
  responses: {
    200: {
      ...jsonContent(ProductAvailabilitySchema, 'Availability per variant'),
      headers: z.object({
        'Cache-Control': z.string().openapi({ description: 'Always `no-store`', example: 'no-store' }),
      }),
    },
    ...problems(404, 422),
  },
});
