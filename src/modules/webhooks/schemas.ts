import { z } from '@hono/zod-openapi';
import {
  WEBHOOK_ATTEMPT_ERRORS,
  WEBHOOK_DELIVERY_ORIGINS,
  WEBHOOK_DELIVERY_STATUSES,
  WEBHOOK_DISABLED_REASONS,
  type webhookDeliveries,
  type webhookDeliveryAttempts,
  type webhookEndpoints,
} from '../../db/schema';
import { PageInfoSchema, PaginationQuery } from '../../lib/pagination';
import { isEventTypePattern, WEBHOOK_EVENT_TYPES } from './event-types';

// The outbound URL guard (src/lib/url-guard.ts) decides which hosts, ports and schemes may be stored (422
// `url_not_allowed`); http is there only for a receiver on localhost outside production.
const EndpointUrl = z
  .url({ protocol: /^https?$/, error: 'Must be an https URL' })
  .max(2000)
  .openapi({
    description:
      'https, default port, a public host (see "Outbound URLs" in docs/ARCHITECTURE.md); outside production ' +
      'also http://localhost and http://127.0.0.1 on any port',
    example: 'https://hooks.example.com/edgecart',
  });

const EventTypes = z
  .array(
    z
      .string()
      .max(100)
      .refine(isEventTypePattern, 'Use a known event type, `<aggregate>.*` or `*` (see docs/WEBHOOKS.md)'),
  )
  .min(1)
  .max(50)
  .refine((list) => new Set(list).size === list.length, 'List each event type once.')
  .openapi({
    description: `Event types to receive: exact names, \`<aggregate>.*\` or \`*\`. Known types: ${WEBHOOK_EVENT_TYPES.join(', ')}.`,
    example: ['order.*', 'product.updated'],
  });

const Description = z.string().trim().max(500).openapi({ example: 'ERP order sync' });

export const CreateWebhookEndpointBody = z
  .object({
    url: EndpointUrl,
    events: EventTypes,
    description: Description.optional(),
    enabled: z.boolean().optional().openapi({ description: 'Default true' }),
  })
  .strict()
  .openapi('CreateWebhookEndpoint');

export const UpdateWebhookEndpointBody = z
  .object({
    url: EndpointUrl.optional(),
    events: EventTypes.optional(),
    description: Description.nullable().optional(),
    enabled: z
      .boolean()
      .optional()
      .openapi({ description: 'true re-enables an endpoint disabled for failing or for answering 410' }),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'Send at least one field to change')
  .openapi('UpdateWebhookEndpoint');

export const WebhookEndpointSchema = z
  .object({
    id: z.string().openapi({ example: 'whe_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    url: z.string(),
    description: z.string().nullable(),
    events: z.array(z.string()),
    enabled: z.boolean(),
    disabled_reason: z.enum(WEBHOOK_DISABLED_REASONS).nullable().openapi({
      description:
        '`manual`: turned off by staff; `gone`: the receiver answered 410; `failing`: every attempt failed for 5 days',
    }),
    disabled_at: z.string().nullable().openapi({ format: 'date-time' }),
    failing_since: z.string().nullable().openapi({
      format: 'date-time',
      description: 'The first failed attempt since the last successful one',
    }),
    previous_secret_expires_at: z.string().nullable().openapi({
      format: 'date-time',
      description:
        'After a rotation: until then, requests carry signatures with both the new and the old secret',
    }),
    created_at: z.string().openapi({ format: 'date-time' }),
    updated_at: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('WebhookEndpoint');

export const WebhookEndpointWithSecretSchema = WebhookEndpointSchema.extend({
  secret: z.string().openapi({
    description: 'The signing secret (`whsec_` + base64), shown only in this response',
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw4eIXqXBzHDk=',
  }),
}).openapi('WebhookEndpointWithSecret');

export const WebhookEndpointPageSchema = z
  .object({ data: z.array(WebhookEndpointSchema), page: PageInfoSchema })
  .openapi('WebhookEndpointPage');

export const WebhookAttemptSchema = z
  .object({
    attempt: z.number().int().openapi({ description: '1 for the first request of the delivery' }),
    attempted_at: z.string().openapi({ format: 'date-time' }),
    status_code: z
      .number()
      .int()
      .nullable()
      .openapi({ description: 'The receiver’s HTTP status, if it answered' }),
    latency_ms: z.number().int(),
    response_excerpt: z.string().nullable().openapi({ description: 'The first 1 KB of the response body' }),
    error: z.enum(WEBHOOK_ATTEMPT_ERRORS).nullable().openapi({
      description:
        'Why there is no status: no answer in 15 s, no connection, a redirect, or a URL the guard refuses',
    }),
  })
  .openapi('WebhookAttempt');

export const WebhookDeliverySchema = z
  .object({
    id: z.string().openapi({ example: 'whd_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    endpoint_id: z.string(),
    event_id: z
      .string()
      .openapi({ description: 'The event’s id, sent as `webhook-id`: the same on every redelivery' }),
    event_type: z.string(),
    origin: z.enum(WEBHOOK_DELIVERY_ORIGINS),
    status: z.enum(WEBHOOK_DELIVERY_STATUSES),
    attempt_count: z.number().int(),
    next_attempt_at: z.string().nullable().openapi({ format: 'date-time' }),
    created_at: z.string().openapi({ format: 'date-time' }),
    completed_at: z.string().nullable().openapi({ format: 'date-time' }),
    attempts: z.array(WebhookAttemptSchema),
  })
  .openapi('WebhookDelivery');

export const WebhookDeliveryPageSchema = z
  .object({ data: z.array(WebhookDeliverySchema), page: PageInfoSchema })
  .openapi('WebhookDeliveryPage');

export const DeliveryListQuery = z.object({
  status: z.enum(WEBHOOK_DELIVERY_STATUSES).optional(),
  ...PaginationQuery,
});

export const ReplayBody = z
  .object({
    from: z.iso.datetime({ offset: true }).openapi({ example: '2026-11-20T00:00:00Z' }),
    to: z.iso.datetime({ offset: true }).openapi({ example: '2026-11-21T00:00:00Z' }),
  })
  .strict()
  // An unparsable time is reported by its own field; only two real times can be out of order.
  .refine(({ from, to }) => !(Date.parse(from) >= Date.parse(to)), {
    message: 'Must be after `from`',
    path: ['to'],
  })
  .openapi('WebhookReplay');

export const ReplayResultSchema = z
  .object({
    queued: z.number().int().openapi({ description: 'Events queued for delivery to this endpoint' }),
    from: z.string().openapi({ format: 'date-time' }),
    to: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('WebhookReplayResult');

const EndpointId = z
  .string()
  .regex(/^whe_[0-9A-Z]{26}$/)
  .openapi({ param: { name: 'id', in: 'path' }, example: 'whe_01JD3Q6C5W9ZK2M4T8R7XPN0AB' });

export const EndpointParams = z.object({ id: EndpointId });

export const DeliveryParams = z.object({
  id: EndpointId,
  delivery_id: z
    .string()
    .regex(/^whd_[0-9A-Z]{26}$/)
    .openapi({ param: { name: 'delivery_id', in: 'path' }, example: 'whd_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
});

export type CreateWebhookEndpoint = z.infer<typeof CreateWebhookEndpointBody>;
export type UpdateWebhookEndpoint = z.infer<typeof UpdateWebhookEndpointBody>;
export type WebhookEndpoint = z.infer<typeof WebhookEndpointSchema>;
export type WebhookDelivery = z.infer<typeof WebhookDeliverySchema>;

const iso = (date: Date | null) => date?.toISOString() ?? null;

export function serializeWebhookEndpoint(row: typeof webhookEndpoints.$inferSelect): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: row.eventTypes,
    enabled: row.enabled,
    disabled_reason: row.disabledReason,
    disabled_at: iso(row.disabledAt),
    failing_since: iso(row.failingSince),
    previous_secret_expires_at: iso(row.previousSecretExpiresAt),
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export function serializeWebhookDelivery(
  row: typeof webhookDeliveries.$inferSelect,
  attempts: (typeof webhookDeliveryAttempts.$inferSelect)[],
): WebhookDelivery {
  return {
    id: row.id,
    endpoint_id: row.endpointId,
    event_id: row.eventId,
    event_type: row.eventType,
    origin: row.origin,
    status: row.status,
    attempt_count: row.attemptCount,
    next_attempt_at: iso(row.nextAttemptAt),
    created_at: row.createdAt.toISOString(),
    completed_at: iso(row.completedAt),
    attempts: attempts.map((a) => ({
      attempt: a.attempt,
      attempted_at: a.attemptedAt.toISOString(),
      status_code: a.responseStatus,
      latency_ms: a.latencyMs,
      response_excerpt: a.responseExcerpt,
      error: a.error,
    })),
  };
}
