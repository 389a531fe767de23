import { createRoute, type RouteConfig, z } from '@hono/zod-openapi';
import { jsonBody, jsonContent, problems, publicRoute } from '../../lib/openapi';
import { OrderTokenHeaders } from '../orders/store-routes';
import { ChannelQuery, ConnectQuery, SseHeaders, SseQuery, TicketBody, TicketSchema } from './schemas';

const tags = ['Live'];

const UpgradeHeaders = z.object({
  upgrade: z.string().optional().openapi({ description: 'Must be `websocket`', example: 'websocket' }),
});

export const connect = publicRoute({
  method: 'get',
  path: '/live',
  tags,
  summary: 'Follow topics over a WebSocket',
  description:
    'Send `Upgrade: websocket`. Subscribe with `{"type":"subscribe","topic":"product:<id>"}` (add `after_seq` ' +
    'to replay what you missed, `ticket` for topics that need one); events arrive as JSON with `type`, ' +
    '`topic`, `seq` and `data`. The protocol, limits and close codes: docs/LIVE.md. Product topics are public; ' +
    'order topics and the staff feed need a ticket (`?ticket=` here, or in the subscribe message).',
  request: {
    query: ConnectQuery,
    headers: UpgradeHeaders,
  },
  responses: {
    101: { description: 'Switching Protocols: the connection is now a WebSocket' },
    ...problems(401, 403, 404, 422, 426),
  },
});

export const channel = publicRoute({
  method: 'get',
  path: '/live/channel',
  tags,
  summary: 'Follow one topic over a WebSocket held by the topic itself',
  description:
    "Send `Upgrade: websocket`. The connection follows `topic` only and is held by the topic's channel, with no " +
    'session in between: the fastest way to watch one product. `subscribed` and the retained state (or what came ' +
    'after `after_seq`) arrive first, then events as on `/v1/live`. The client may send `ping` and ' +
    "`unsubscribe` (which closes the connection); a `subscribe` gets the error `single_topic`. When a ticket's " +
    'grant ends the connection gets `unsubscribed` `expired` and closes with 4001; when its product is taken off ' +
    'sale (and no `catalog:read` ticket opened it), `unsubscribed` `withdrawn` and 4004. docs/LIVE.md has the details.',
  request: {
    query: ChannelQuery,
    headers: UpgradeHeaders,
  },
  responses: {
    101: { description: 'Switching Protocols: the connection is now a WebSocket' },
    ...problems(401, 403, 404, 422, 426, 503),
  },
});

export const stream = publicRoute({
  method: 'get',
  path: '/live/sse',
  tags,
  summary: 'Follow topics as Server-Sent Events',
  description:
    'The same messages as the WebSocket, one per event (`data` is the message JSON); the event `id` holds the ' +
    'seq of every topic, so `Last-Event-ID` resumes them all. Order topics and the staff feed need `ticket`.',
  request: { query: SseQuery, headers: SseHeaders },
  responses: {
    200: {
      description: 'An event stream that stays open',
      content: {
        'text/event-stream': { schema: z.string().openapi({ example: 'id: 12\ndata: {...}\n\n' }) },
      },
    },
    ...problems(401, 403, 404, 422),
  },
});

/** Any of these credentials, or none (a ticket for product topics only). */
const TICKET_SECURITY: NonNullable<RouteConfig['security']> = [
  { customerToken: [] },
  { staffToken: [] },
  { secretKey: [] },
  { orderToken: [] },
  {},
];

export const createTicket = createRoute({
  method: 'post',
  path: '/live/tickets',
  tags,
  summary: 'Get a short-lived ticket for topics that need credentials',
  description:
    'Send the credential that opens the topics: a customer token or `X-Order-Token` for `order:<id>`, a staff ' +
    'token or secret key holding `orders:read` for `staff:feed` and any order; one holding `catalog:read` makes ' +
    'its `product:<id>` topics open whatever the product’s status, and not withdrawn when it goes off sale. ' +
    'The ticket is valid for 60 s to ' +
    'connect or subscribe with; the subscriptions it opens last until the credential expires (at most an hour).',
  security: TICKET_SECURITY,
  request: { body: jsonBody(TicketBody), headers: OrderTokenHeaders },
  responses: {
    200: jsonContent(TicketSchema, 'The ticket'),
    ...problems(400, 401, 403, 415, 422),
  },
});
