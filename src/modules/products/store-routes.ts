import { z } from '@hono/zod-openapi';
import { jsonContent, problems, publicRoute } from '../../lib/openapi';
import { StoreContextQuery } from '../regions/schemas';
import { ListProductsQuery, ProductDetailSchema, ProductListSchema, ProductParams } from './store-schemas';

export const listProducts = publicRoute({
  method: 'get',
  path: '/products',
  tags: ['Store: products'],
  summary: 'List products sold in the shopper’s region, priced in its currency',
  request: { query: ListProductsQuery },
  responses: { 200: jsonContent(ProductListSchema, 'A page of products'), ...problems(422) },
});

export const getProduct = publicRoute({
  method: 'get',
  path: '/products/{handle}',
  tags: ['Store: products'],
  summary: 'A product by handle, priced for the shopper’s region',
  request: { params: ProductParams, query: z.object(StoreContextQuery) },
  responses: { 200: jsonContent(ProductDetailSchema, 'The product'), ...problems(404, 422) },
});
