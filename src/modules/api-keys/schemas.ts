import { z } from '@hono/zod-openapi';
import { publishableKeyOf } from '../../auth/publishable-key';
import type { apiKeys } from '../../db/schema';
import { PageInfoSchema, PaginationQuery } from '../../lib/pagination';
import { PERMISSIONS } from '../../lib/permissions';

const Name = z.string().trim().min(1).max(100).openapi({ example: 'ERP sync' });

export const CreateApiKeyBody = z
  .discriminatedUnion('kind', [
    z
      .object({
        kind: z.literal('secret'),
        name: Name,
        permissions: z
          .array(z.enum(PERMISSIONS))
          .min(1)
          .max(PERMISSIONS.length)
          .refine((list) => new Set(list).size === list.length, 'List each permission once.')
          .openapi({ example: ['catalog:read', 'catalog:write'] }),
      })
      .strict(),
    z
      .object({
        kind: z.literal('publishable'),
        name: Name,
        default_region: z
          .string()
          .regex(/^[a-z0-9-]{1,32}$/)
          .openapi({
            example: 'eu',
            description: 'Region code used when the shopper’s country decides none',
          }),
      })
      .strict(),
  ])
  .openapi('CreateApiKey');

export const ApiKeySchema = z
  .object({
    id: z.string().openapi({ example: 'key_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    kind: z.enum(['secret', 'publishable']),
    name: z.string(),
    permissions: z.array(z.string()).nullable().openapi({ description: 'Secret keys: what the key may do' }),
    default_region: z.string().nullable().openapi({ description: 'Publishable keys: the default region' }),
    publishable_key: z
      .string()
      .nullable()
      .openapi({ description: 'Publishable keys: the public key to send as X-Publishable-Api-Key' }),
    created_by: z.string().nullable(),
    created_at: z.string().openapi({ format: 'date-time' }),
    last_used_at: z.string().nullable().openapi({ format: 'date-time' }),
    revoked_at: z.string().nullable().openapi({ format: 'date-time' }),
  })
  .openapi('ApiKey');

export const CreatedApiKeySchema = ApiKeySchema.extend({
  secret_key: z
    .string()
    .nullable()
    .openapi({ description: 'Secret keys: `sk_...`, shown only in this response; only its hash is stored' }),
}).openapi('CreatedApiKey');

export const ApiKeyListQuery = z.object({
  kind: z.enum(['secret', 'publishable']).optional(),
  include_revoked: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  ...PaginationQuery,
});

export const ApiKeyPageSchema = z
  .object({ data: z.array(ApiKeySchema), page: PageInfoSchema })
  .openapi('ApiKeyPage');

export const ApiKeyIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'key_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
});

export function serializeApiKey(row: typeof apiKeys.$inferSelect): z.infer<typeof ApiKeySchema> {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    permissions: row.kind === 'secret' ? (row.permissions ?? []) : null,
    default_region: row.defaultRegion,
    publishable_key: row.kind === 'publishable' ? publishableKeyOf(row.id) : null,
    created_by: row.createdBy,
    created_at: row.createdAt.toISOString(),
    last_used_at: row.lastUsedAt?.toISOString() ?? null,
    revoked_at: row.revokedAt?.toISOString() ?? null,
  };
}
