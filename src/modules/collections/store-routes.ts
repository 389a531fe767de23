import { jsonContent, problems, publicRoute } from '../../lib/openapi';
import { CollectionListSchema, ListCollectionsQuery } from './store-schemas';

export const listCollections = publicRoute({
  method: 'get',
  path: '/collections',
  tags: ['Store: catalog'],
  summary: 'Collections, in the shopper’s language',
  request: { query: ListCollectionsQuery },
  responses: { 200: jsonContent(CollectionListSchema, 'A page of collections'), ...problems(422) },
});
