import { z } from '@hono/zod-openapi';
import { jsonContent, publicRoute } from '../../lib/openapi';

const Health = z.object({ status: z.literal('ok') }).openapi('Health');
const Readiness = z
  .object({
    status: z.enum(['ready', 'degraded']),
    checks: z.object({ d1: z.enum(['ok', 'failed']), kv: z.enum(['ok', 'failed']) }),
  })
  .openapi('Readiness');

const ApiIndex = z
  .object({
    name: z.string(),
    version: z.string(),
    links: z.object({
      docs: z.string(),
      openapi: z.string(),
      health: z.string(),
      ready: z.string(),
      store: z.object({
        regions: z.string(),
        products: z.string(),
        categories: z.string(),
        collections: z.string(),
      }),
    }),
  })
  .openapi('ApiIndex');

export const index = publicRoute({
  method: 'get',
  path: '/',
  tags: ['System'],
  summary: 'API index: name, version and where to start',
  responses: { 200: jsonContent(ApiIndex, 'The API index') },
});

export const health = publicRoute({
  method: 'get',
  path: '/health',
  tags: ['System'],
  summary: 'Liveness: the Worker answers',
  responses: { 200: jsonContent(Health, 'Alive') },
});

export const ready = publicRoute({
  method: 'get',
  path: '/ready',
  tags: ['System'],
  summary: 'Readiness: D1 and KV answer',
  responses: { 200: jsonContent(Readiness, 'Ready'), 503: jsonContent(Readiness, 'A dependency failed') },
});
