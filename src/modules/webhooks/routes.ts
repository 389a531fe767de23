import { adminRoute } from '../../auth/permissions';
import { jsonBody, jsonContent, LocationHeader, problems } from '../../lib/openapi';
import {
  CreateWebhookEndpointBody,
  DeliveryListQuery,
  DeliveryParams,
  EndpointParams,
  ReplayBody,
  ReplayResultSchema,
  UpdateWebhookEndpointBody,
  WebhookDeliveryPageSchema,
  WebhookDeliverySchema,
  WebhookEndpointPageSchema,
  WebhookEndpointSchema,
  WebhookEndpointWithSecretSchema,
} from './schemas';

const tags = ['Admin: webhooks'];
const PaginationQuery = DeliveryListQuery.pick({ limit: true, cursor: true });

export const createEndpoint = adminRoute('webhooks:manage', {
  method: 'post',
  path: '/webhooks',
  tags,
  summary: 'Register a webhook endpoint',
  description:
    'Deliveries follow the Standard Webhooks specification (see docs/WEBHOOKS.md). The signing secret is in ' +
    'this response only.',
  request: { body: jsonBody(CreateWebhookEndpointBody) },
  responses: {
    201: {
      ...jsonContent(WebhookEndpointWithSecretSchema, 'The endpoint and its secret'),
      headers: LocationHeader,
    },
    ...problems(400, 401, 403, 415, 422),
  },
});

export const listEndpoints = adminRoute('webhooks:manage', {
  method: 'get',
  path: '/webhooks',
  tags,
  summary: 'List webhook endpoints, newest first',
  request: { query: PaginationQuery },
  responses: {
    200: jsonContent(WebhookEndpointPageSchema, 'A page of endpoints'),
    ...problems(401, 403, 422),
  },
});

export const getEndpoint = adminRoute('webhooks:manage', {
  method: 'get',
  path: '/webhooks/{id}',
  tags,
  summary: 'A webhook endpoint',
  request: { params: EndpointParams },
  responses: { 200: jsonContent(WebhookEndpointSchema, 'The endpoint'), ...problems(401, 403, 404, 422) },
});

export const updateEndpoint = adminRoute('webhooks:manage', {
  method: 'patch',
  path: '/webhooks/{id}',
  tags,
  summary: 'Change, disable or re-enable a webhook endpoint',
  request: { params: EndpointParams, body: jsonBody(UpdateWebhookEndpointBody) },
  responses: {
    200: jsonContent(WebhookEndpointSchema, 'Updated'),
    ...problems(400, 401, 403, 404, 415, 422),
  },
});

export const deleteEndpoint = adminRoute('webhooks:manage', {
  method: 'delete',
  path: '/webhooks/{id}',
  tags,
  summary: 'Remove a webhook endpoint and its delivery log',
  request: { params: EndpointParams },
  responses: { 204: { description: 'Deleted' }, ...problems(401, 403, 404, 422) },
});

export const rotateSecret = adminRoute('webhooks:manage', {
  method: 'post',
  path: '/webhooks/{id}/rotate-secret',
  tags,
  summary: 'Rotate the signing secret',
  description:
    'The new secret is in this response only. For 24 hours every request carries two signatures, with the new ' +
    'and with the old secret, so the receiver can switch at any moment in that window.',
  request: { params: EndpointParams },
  responses: {
    200: jsonContent(WebhookEndpointWithSecretSchema, 'The endpoint and its new secret'),
    ...problems(401, 403, 404, 409, 422),
  },
});

export const listDeliveries = adminRoute('webhooks:manage', {
  method: 'get',
  path: '/webhooks/{id}/deliveries',
  tags,
  summary: 'The delivery log of an endpoint, newest first, with every attempt',
  request: { params: EndpointParams, query: DeliveryListQuery },
  responses: {
    200: jsonContent(WebhookDeliveryPageSchema, 'A page of deliveries'),
    ...problems(401, 403, 404, 422),
  },
});

export const redeliver = adminRoute('webhooks:manage', {
  method: 'post',
  path: '/webhooks/{id}/deliveries/{delivery_id}/redeliver',
  tags,
  summary: 'Send a delivery again',
  description:
    'A new delivery of the same body with the same `webhook-id`, attempted at once and retried on the schedule.',
  request: { params: DeliveryParams },
  responses: {
    202: jsonContent(WebhookDeliverySchema, 'The new delivery, queued'),
    ...problems(401, 403, 404, 409, 422),
  },
});

export const replay = adminRoute('webhooks:manage', {
  method: 'post',
  path: '/webhooks/{id}/replay',
  tags,
  summary: 'Deliver again the events of a time range',
  description:
    'Every event committed in [from, to) that the endpoint subscribes to, in order, as new deliveries; at most ' +
    '100 events per request.',
  request: { params: EndpointParams, body: jsonBody(ReplayBody) },
  responses: {
    202: jsonContent(ReplayResultSchema, 'Queued'),
    ...problems(400, 401, 403, 404, 409, 415, 422),
  },
});

export const testEndpoint = adminRoute('webhooks:manage', {
  method: 'post',
  path: '/webhooks/{id}/test',
  tags,
  summary: 'Send a test ping',
  description:
    'A `webhook.ping` event, signed and delivered like any other; its outcome is in the delivery log.',
  request: { params: EndpointParams },
  responses: {
    202: jsonContent(WebhookDeliverySchema, 'The ping delivery, queued'),
    ...problems(401, 403, 404, 409, 422),
  },
});
