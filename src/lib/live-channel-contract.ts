/**
 * How the Worker talks to a LiveChannel object (src/durable-objects/live-channel.ts), one object per topic
 * (`idFromName(topic)`): the subscription request a live session sends to open its hibernatable socket to the
 * channel, the ping the channel's runtime answers without waking it, and the close codes the channel uses. Both
 * sides import this file, so the request is built and parsed in one place.
 */
import { encodeControl, LIVE_CLOSE_CODES, LiveTopic, type Topic } from './live-messages';

export type LiveChannelNamespace = Env['LIVE_CHANNEL'];

/**
 * Which kind of client connection a channel subscriber serves (kept in the socket's attachment): a live session's
 * WebSocket or SSE stream (the subscriber is the session), or `direct`: the client's own WebSocket, handed to the
 * channel by `GET /v1/live/channel` (the subscriber is the client, speaking the live protocol).
 */
export const LIVE_TRANSPORTS = ['websocket', 'sse', 'direct'] as const;
export type LiveTransport = (typeof LIVE_TRANSPORTS)[number];

export type ChannelSubscription = {
  topic: Topic;
  /** Replay what came after this seq (or say `resync`); absent: send the retained state. */
  afterSeq?: number;
  /** Epoch ms after which the channel ends the subscription (its ticket's grant ran out); null: never. */
  until: number | null;
  /** Opened on the storefront's right to follow an active product: ended when the product is taken off sale. */
  public: boolean;
  transport: LiveTransport;
  /**
   * For a direct client, whose connection the channel ends: the Worker's id of the request that opened it and
   * who its ticket was issued to (null: no ticket), so the channel's end-of-connection log line joins the request
   * line as a live session's does.
   */
  opened?: { requestId: string; holder: string | null };
};

/**
 * Sent by a live session (or a direct client) to check its channel socket; answered by the runtime while the
 * object sleeps. Both are messages of the live protocol, so a direct client's ping gets the pong it expects.
 */
export const CHANNEL_PING = '{"type":"ping"}';
export const CHANNEL_PONG = encodeControl({ type: 'pong' });

/** How a channel closes a subscriber socket: the live protocol's codes, so a direct client reads them as is. */
export const CHANNEL_CLOSE_CODES = {
  /** The subscription's `until` has passed. */
  expired: LIVE_CLOSE_CODES.expired,
  /** The subscriber did not read what the channel sent (its queue passed the backlog limit). */
  slowConsumer: LIVE_CLOSE_CODES.slowConsumer,
  /** The product was taken off sale and the subscription was public (`LiveChannel.withdraw`). */
  withdrawn: LIVE_CLOSE_CODES.withdrawn,
} as const;

const BASE_URL = 'https://live-channel.internal/subscribe';

export function channelStub(ns: LiveChannelNamespace, topic: Topic) {
  return ns.get(ns.idFromName(topic));
}

/** The WebSocket upgrade request that subscribes to a channel. */
export function subscriptionRequest(subscription: ChannelSubscription): Request {
  const url = new URL(BASE_URL);
  url.searchParams.set('topic', subscription.topic);
  url.searchParams.set('transport', subscription.transport);
  if (subscription.afterSeq !== undefined) url.searchParams.set('after_seq', String(subscription.afterSeq));
  if (subscription.until !== null) url.searchParams.set('until', String(subscription.until));
  if (subscription.public) url.searchParams.set('public', '1');
  if (subscription.opened) {
    url.searchParams.set('request_id', subscription.opened.requestId);
    if (subscription.opened.holder !== null) url.searchParams.set('holder', subscription.opened.holder);
  }
  return new Request(url, { headers: { Upgrade: 'websocket' } });
}

const integer = (value: string | null) =>
  value !== null && /^\d{1,16}$/.test(value) ? Number(value) : undefined;

/** The Worker's request ids (UUIDs) and ticket holders (`customer:cus_...`), nothing longer or stranger. */
const LOGGABLE = /^[A-Za-z0-9_:-]{1,128}$/;
const loggable = (value: string | null) => (value !== null && LOGGABLE.test(value) ? value : null);

/** The subscription a request asks for, or null if it is not one `subscriptionRequest` built. */
export function parseSubscriptionRequest(request: Request): ChannelSubscription | null {
  const url = new URL(request.url);
  const topic = LiveTopic.safeParse(url.searchParams.get('topic'));
  const transport = LIVE_TRANSPORTS.find((t) => t === url.searchParams.get('transport'));
  if (!topic.success || transport === undefined) return null;
  const afterSeq = integer(url.searchParams.get('after_seq'));
  const requestId = loggable(url.searchParams.get('request_id'));
  return {
    topic: topic.data,
    transport,
    ...(afterSeq !== undefined && { afterSeq }),
    until: integer(url.searchParams.get('until')) ?? null,
    public: url.searchParams.get('public') === '1',
    ...(requestId !== null && { opened: { requestId, holder: loggable(url.searchParams.get('holder')) } }),
  };
}
