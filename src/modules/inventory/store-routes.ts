import { z } from '@hono/zod-openapi';
import { jsonContent, problems, publicRoute } from '../../lib/openapi';
import {
  AvailabilityParams,
  AvailabilityQuery,
  ProductAvailabilitySchema,
  StockLevelsQuery,
  StockLevelsSchema,
} from './store-schemas';

export const getAvailability = publicRoute({
  method: 'get',
  path: '/products/{id}/availability',
  tags: ['Store: products'],
  summary: 'Exact stock of a product’s variants now (never cached; a listing page’s levels: /stock-levels)',
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

export const getStockLevels = publicRoute({
  method: 'get',
  path: '/stock-levels',
  tags: ['Store: products'],
  summary: 'In stock, low or out, per product and variant, for a listing page (outside the cached listing)',
  description:
    'Listings are cached until the catalog changes, so they carry no stock; a storefront asks for the levels of ' +
    'the page’s products here. A level is at most a few seconds behind the stock (docs/ARCHITECTURE.md, ' +
    '"Availability without the catalog cache"). Products that are not active are left out. A variant nobody has ' +
    'stocked is `out_of_stock`.',
  request: { query: StockLevelsQuery },
  responses: {
    200: {
      ...jsonContent(StockLevelsSchema, 'Levels, in the order the ids were given'),
      headers: z.object({
        'Cache-Control': z.string().openapi({ example: 'public, max-age=5' }),
      }),
    },
    ...problems(422),
  },
});
