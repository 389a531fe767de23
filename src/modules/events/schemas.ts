import { z } from '@hono/zod-openapi';
import type { deadLetters } from '../../db/schema';
import { PageInfoSchema, PaginationQuery } from '../../lib/pagination';

export const DeadLetterQuery = z.object({
  event_type: z
    .string()
    .regex(/^[a-z_]+\.[a-z_]+$/)
    .optional()
    .openapi({ example: 'order.created' }),
  ...PaginationQuery,
});

const FailureSchema = z.object({
  consumer: z
    .string()
    .nullable()
    .openapi({ description: 'The consumer that failed; null when no consumer could take the event at all' }),
  error: z.string().openapi({ example: 'email not sent by http: email API answered 503' }),
});

export const DeadLetterSchema = z
  .object({
    id: z.string().openapi({ example: 'dlq_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    event_id: z.string().nullable().openapi({ example: 'evt_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    event_type: z.string().nullable().openapi({ example: 'order.created' }),
    failures: z.array(FailureSchema),
    attempts: z.number().int().openapi({ description: 'Deliveries tried before the event was given up' }),
    created_at: z.string().openapi({ format: 'date-time' }),
    replay_count: z.number().int(),
    last_replayed_at: z.string().nullable().openapi({ format: 'date-time' }),
  })
  .openapi('DeadLetter');

export const DeadLetterDetailSchema = DeadLetterSchema.extend({
  envelope: z.unknown().openapi({
    description: 'The message as it was received: normally an event envelope (see the `webhooks` section)',
  }),
}).openapi('DeadLetterDetail');

export const DeadLetterPageSchema = z
  .object({ data: z.array(DeadLetterSchema), page: PageInfoSchema })
  .openapi('DeadLetterPage');

type DeadLetterRow = typeof deadLetters.$inferSelect;

export function serializeDeadLetter(row: DeadLetterRow): z.infer<typeof DeadLetterSchema> {
  return {
    id: row.id,
    event_id: row.eventId,
    event_type: row.eventType,
    failures: row.failures,
    attempts: row.attempts,
    created_at: row.createdAt.toISOString(),
    replay_count: row.replayCount,
    last_replayed_at: row.lastReplayedAt?.toISOString() ?? null,
  };
}

export function serializeDeadLetterDetail(row: DeadLetterRow): z.infer<typeof DeadLetterDetailSchema> {
  return { ...serializeDeadLetter(row), envelope: row.envelope };
}
