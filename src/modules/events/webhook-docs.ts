/**
 * The public events in the OpenAPI document: each public type of the event catalog as a webhook (OpenAPI 3.1
 * `webhooks`) whose request body is its envelope, a component named after the type (`OrderCreatedEvent`). Webhook
 * receivers and queue consumers read the same shape; internal events are not part of the public contract and are
 * left out.
 */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import {
  currentEnvelopeSchema,
  currentVersion,
  EVENT_CATALOG,
  type EventType,
  eventSchemaName,
  PUBLIC_EVENT_TYPES,
} from '../../lib/event-catalog';

/** Standard Webhooks (https://www.standardwebhooks.com) headers of every delivery. */
const DeliveryHeaders = z.object({
  'webhook-id': z.string().openapi({
    description: 'The event id (`evt_...`): the same for every attempt, so receivers deduplicate on it',
    example: 'evt_01JD3Q6C5W9ZK2M4T8R7XPN0AB',
  }),
  'webhook-timestamp': z
    .string()
    .openapi({ description: 'Seconds since the epoch when this attempt was signed', example: '1764151200' }),
  'webhook-signature': z.string().openapi({
    description: 'Space-separated `v1,<base64 HMAC-SHA256 of id.timestamp.body>`, one per active secret',
    example: 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
  }),
});

function webhookOperationId(type: EventType): string {
  const name = eventSchemaName(type, currentVersion(type));
  return `${name.charAt(0).toLowerCase()}${name.slice(1)}Webhook`;
}

export function documentEventWebhooks(registry: OpenAPIHono['openAPIRegistry']): void {
  for (const type of PUBLIC_EVENT_TYPES) {
    registry.registerWebhook({
      method: 'post',
      path: type,
      operationId: webhookOperationId(type),
      tags: ['Webhooks'],
      // Receivers authenticate a delivery by its signature headers, not by a credential of ours.
      security: [],
      summary: type,
      description: EVENT_CATALOG[type].description,
      request: {
        headers: DeliveryHeaders,
        body: { content: { 'application/json': { schema: currentEnvelopeSchema(type) } }, required: true },
      },
      responses: {
        200: { description: 'Any 2xx acknowledges the delivery; anything else (or no answer) is retried' },
        410: { description: 'The endpoint is gone: it is disabled and receives nothing more' },
      },
    });
  }
}
