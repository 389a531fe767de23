/**
 * The live routes. `/live` and `/live/sse` end in a LiveSession (session.ts) that the Worker holds while the
 * client is connected, subscribed to one LiveChannel object per topic over hibernatable sockets: a WebSocket
 * upgrade is answered here (the 101 passes the global middleware untouched, src/lib/response-headers.ts), an SSE
 * stream is a streamed 200. `/live/channel` hands the client's WebSocket to its one topic's channel instead.
 * What can be refused before the connection opens (a bad ticket, a topic the ticket does not name, an inactive
 * product, a malformed Last-Event-ID) is refused with problem+json.
 */
import type { Context } from 'hono';
import { bearerPrincipal } from '../../auth/bearer-principal';
import type { AppEnv } from '../../lib/app-env';
import { AppError } from '../../lib/errors';
import type { Topic } from '../../lib/live-messages';
import { describeError } from '../../lib/logger';
import { createRouter } from '../../lib/openapi';
import { isWebSocketUpgrade } from '../../lib/response-headers';
import { noStore } from '../../middleware/no-store';
import { subscriptionAccess, ticketGrant } from './access';
import { channelUpgrade } from './channel-socket';
import { SseSink, WebSocketSink } from './client-sinks';
import * as routes from './routes';
import type { LiveTicket } from './schemas';
import { LiveSession, type TopicAccess } from './session';
import { parseCursor } from './sse-cursor';
import { type Grant, signTicket, verifyTicket } from './tickets';

const REFUSALS = { topic_not_found: 404, forbidden: 403 } as const;

/**
 * Each topic's access (when the subscription ends, whether it is public), checked before the connection opens;
 * the first refusal as problem+json, pointing at the query parameter that named the topic.
 */
async function checkTopics(
  env: Env,
  topics: readonly Topic[],
  grants: readonly Grant[],
  pointer: (index: number) => string = (i) => `/query/topics/${i}`,
): Promise<(TopicAccess & { topic: Topic })[]> {
  const access = await Promise.all(topics.map((topic) => subscriptionAccess(env, topic, grants)));
  return access.map((result, i) => {
    if (!result.ok) {
      throw new AppError(REFUSALS[result.code], result.code, result.message, {
        errors: [{ pointer: pointer(i), message: result.message }],
      });
    }
    return { topic: topics[i] as Topic, until: result.until, public: result.public };
  });
}

function requireUpgrade(c: Context<AppEnv>): void {
  if (!isWebSocketUpgrade(c)) {
    throw new AppError(426, 'upgrade_required', 'This endpoint only accepts a WebSocket upgrade.', {
      headers: { Upgrade: 'websocket' },
    });
  }
}

export const liveRouter = createRouter()
  .openapi(routes.connect, async (c) => {
    requireUpgrade(c);
    const { topics = [], ticket } = c.req.valid('query');
    const grants = ticket === undefined ? [] : [await verifyTicket(c.env, ticket)];
    const access = await checkTopics(c.env, topics, grants);
    const { 0: client, 1: server } = new WebSocketPair();
    server.accept();
    const session = new LiveSession(c.env, new WebSocketSink(server), {
      transport: 'websocket',
      grants,
      logger: c.var.logger,
    });
    server.addEventListener('message', (event) => void session.receive(event.data));
    server.addEventListener('close', () => session.end());
    server.addEventListener('error', () => session.end());
    for (const { topic, ...opened } of access) void session.follow(topic, opened, undefined);
    return new Response(null, { status: 101, webSocket: client });
  })
  .openapi(routes.channel, async (c) => {
    requireUpgrade(c);
    const { topic, after_seq, ticket } = c.req.valid('query');
    const grants = ticket === undefined ? [] : [await verifyTicket(c.env, ticket)];
    const [access] = await checkTopics(c.env, [topic], grants, () => '/query/topic');
    try {
      const { res } = await channelUpgrade(c.env.LIVE_CHANNEL, {
        topic,
        until: access?.until ?? null,
        public: access?.public ?? false,
        transport: 'direct',
        ...(after_seq !== undefined && { afterSeq: after_seq }),
        opened: { requestId: c.var.requestId, holder: grants[0]?.holder ?? null },
      });
      return res;
    } catch (error) {
      c.var.logger.error('live channel unreachable', { topic, ...describeError(error) });
      throw new AppError(503, 'live_unavailable', 'The topic cannot be followed right now; try again.', {
        headers: { 'Retry-After': '1' },
      });
    }
  })
  .openapi(routes.stream, async (c) => {
    const { topics, ticket, last_event_id } = c.req.valid('query');
    const positions = parseCursor(c.req.valid('header')['last-event-id'] ?? last_event_id, topics.length);
    const grants = ticket === undefined ? [] : [await verifyTicket(c.env, ticket)];
    const access = await checkTopics(c.env, topics, grants);
    const sink = new SseSink(topics, [...positions], () => session.end());
    const session = new LiveSession(c.env, sink, { transport: 'sse', grants, logger: c.var.logger });
    for (const [i, { topic, ...opened }] of access.entries())
      void session.follow(topic, opened, positions[i]);
    return new Response(sink.body, {
      status: 200,
      headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' },
    });
  });

liveRouter.use('/live/tickets', noStore());
liveRouter.openapi(routes.createTicket, async (c) => {
  const { topics } = c.req.valid('json');
  const requester = {
    bearer: await bearerPrincipal(c.env, c.req.header('Authorization')),
    orderToken: c.req.valid('header')['X-Order-Token'],
  };
  const grant = await ticketGrant(c.env, requester, topics);
  const issued = await signTicket(c.env, { topics, ...grant });
  const body: LiveTicket = {
    ticket: issued.ticket,
    topics,
    expires_at: issued.expiresAt.toISOString(),
    subscriptions_end_at: issued.until.toISOString(),
  };
  return c.json(body, 200);
});
