import { z } from '@hono/zod-openapi';
import type { SessionRow } from './service';

export const TokenResponseSchema = z
  .object({
    access_token: z.string().openapi({ description: 'EdDSA JWT, valid for expires_in seconds' }),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int().openapi({ example: 900 }),
    refresh_token: z.string().openapi({ description: 'Opaque, single use: each refresh returns a new one' }),
  })
  .openapi('TokenResponse');

export type TokenResponse = z.infer<typeof TokenResponseSchema>;

export const RefreshRequestSchema = z
  .object({ refresh_token: z.string().min(1).max(200) })
  .strict()
  .openapi('RefreshRequest');

export const SessionSchema = z
  .object({
    id: z.string().openapi({ example: 'ses_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    user_agent: z.string().nullable(),
    created_at: z.string().openapi({ format: 'date-time' }),
    last_used_at: z.string().openapi({ format: 'date-time' }),
    expires_at: z.string().openapi({ format: 'date-time' }),
    current: z.boolean().openapi({ description: 'Whether this is the session of the token making the call' }),
  })
  .openapi('Session');

export const SessionParams = z.object({
  id: z
    .string()
    .regex(/^ses_[0-9A-Z]{26}$/)
    .openapi({ param: { name: 'id', in: 'path' } }),
});

export const SessionListSchema = z.object({ data: z.array(SessionSchema) }).openapi('SessionList');

/** A session as its owner sees it; `current` marks the one the calling token belongs to. */
export function serializeSession(row: SessionRow, currentSessionId: string | undefined) {
  return {
    id: row.id,
    user_agent: row.userAgent,
    created_at: row.createdAt.toISOString(),
    last_used_at: row.lastUsedAt.toISOString(),
    expires_at: row.expiresAt.toISOString(),
    current: row.id === currentSessionId,
  };
}
