/**
 * One live topic (`idFromName(topic)`: `product:<id>`, `order:<id>`, `staff:feed`): it numbers the topic's
 * events, keeps the recent ones for replay and the latest state for new subscribers (live-channel-storage.ts),
 * and sends each event to its subscribers.
 *
 * Subscribers are the Worker's live sessions (src/modules/live/session.ts), one socket per client connection
 * and topic: the Worker authenticates, holds the client's WebSocket or SSE stream and subscribes here
 * (docs/ARCHITECTURE.md, "Live"); or direct clients: a browser's own WebSocket that follows only this topic,
 * handed over by the Worker after it checked access (`GET /v1/live/channel`, live-direct-client.ts), one hop
 * less per event. Sockets are accepted with the Hibernation API, so a channel with subscribers and no events
 * costs nothing: the runtime keeps the sockets while the object is evicted, answers pings itself
 * (`setWebSocketAutoResponse`) and wakes the object for a publish. What a socket needs after a wake-up (its
 * topic, when its grant ends) is in its attachment, not in memory.
 */
import { DurableObject } from 'cloudflare:workers';
import {
  CHANNEL_CLOSE_CODES,
  CHANNEL_PING,
  CHANNEL_PONG,
  type ChannelSubscription,
  type LiveTransport,
  parseSubscriptionRequest,
} from '../lib/live-channel-contract';
import {
  encodeControl,
  LIVE_CLOSE_CODES,
  LIVE_LIMITS,
  LIVE_PROTOCOL_VERSION,
  type LiveEventDraft,
  retainKeyOf,
  type Topic,
} from '../lib/live-messages';
import { createLogger } from '../lib/logger';
import { type ChannelRow, ChannelStorage, RETENTION_MS } from './live-channel-storage';
import { DirectClients } from './live-direct-client';

/** What a subscriber socket carries through hibernation. */
export type SubscriberAttachment = {
  topic: Topic;
  transport: LiveTransport;
  subscribedAt: number;
  /** Epoch ms when the grant behind this subscription ends (null: a public topic, never). */
  until: number | null;
  /** Opened on the storefront's right to follow an active product: `withdraw` ends it. */
  public: boolean;
  /** A direct client's opening request and ticket holder, for its end-of-connection log line. */
  opened?: ChannelSubscription['opened'];
};

/** Why a direct client's connection ended, in a live session's words, by the code it closed with. */
const END_REASONS: Record<number, string> = {
  [LIVE_CLOSE_CODES.policyViolation]: 'rate_limited',
  [LIVE_CLOSE_CODES.expired]: 'expired',
  [LIVE_CLOSE_CODES.slowConsumer]: 'slow_consumer',
  [LIVE_CLOSE_CODES.withdrawn]: 'withdrawn',
};

/**
 * Codes a Close frame may not carry (RFC 6455, 7.4.1): 1005 (no code was sent, as from a browser's plain
 * `close()`), 1006 and 1015 only report, 1004 is reserved. The runtime's `close()` throws on them.
 */
const UNSENDABLE_CLOSE_CODES = new Set([1004, 1005, 1006, 1015]);

export type PublishResult = { seq: number; delivered: number };

const SLOW_CONSUMER_ERROR = encodeControl({
  type: 'error',
  code: 'slow_consumer',
  message: 'Messages were not read fast enough; reconnect with your last seq.',
});

export class LiveChannel extends DurableObject<Env> {
  private readonly store: ChannelStorage;
  /** Attachments read once per socket per wake-up: deserializing on every publish would cost per event. */
  private readonly attachments = new WeakMap<WebSocket, SubscriberAttachment>();
  private readonly directClients = new DirectClients();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new ChannelStorage(ctx.storage.sql);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(CHANNEL_PING, CHANNEL_PONG));
  }

  /**
   * A live session or a direct client subscribing (the request `subscriptionRequest` builds): accepts its socket,
   * then sends `subscribed` and what the subscriber lacks, all before any later event can be sent to it.
   */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('Expected a WebSocket upgrade', { status: 426, headers: { Upgrade: 'websocket' } });
    }
    const subscription = parseSubscriptionRequest(request);
    if (!subscription) return new Response('Not a channel subscription', { status: 400 });
    const now = Date.now();
    const channel = this.channelFor(subscription.topic);
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    const attachment: SubscriberAttachment = {
      topic: subscription.topic,
      transport: subscription.transport,
      subscribedAt: now,
      until: subscription.until,
      public: subscription.public,
      ...(subscription.opened && { opened: subscription.opened }),
    };
    server.serializeAttachment(attachment);
    this.attachments.set(server, attachment);
    for (const message of this.catchUp(channel, subscription, now)) server.send(message);
    return new Response(null, { status: 101, webSocket: client });
  }

  /**
   * Numbers `draft` as the topic's next event, keeps it (for replay while anyone follows or left less than
   * RETENTION_MS ago; as state if it has a retain key) and sends it to every subscriber. With no subscriber this
   * is one or two row writes and no send.
   */
  async publish(topic: Topic, draft: LiveEventDraft): Promise<PublishResult> {
    const now = Date.now();
    const channel = this.channelFor(topic);
    const seq = channel.seq + 1;
    const body = JSON.stringify({
      v: LIVE_PROTOCOL_VERSION,
      type: draft.type,
      topic,
      seq,
      at: new Date(now).toISOString(),
      data: draft.data,
    });
    const sockets = this.ctx.getWebSockets();
    const retainKey = retainKeyOf(draft);
    this.ctx.storage.transactionSync(() => {
      this.store.saveChannel({ ...channel, seq });
      if (sockets.length > 0 || now - channel.lastSubscriberAt <= RETENTION_MS) {
        this.store.appendEvent(seq, now, body);
      } else {
        this.store.dropEvents();
      }
      if (retainKey !== null) this.store.retain(retainKey, seq, body);
    });
    let delivered = 0;
    for (const ws of sockets) {
      if (this.deliver(ws, body, now)) delivered += 1;
    }
    return { seq, delivered };
  }

  /**
   * The topic's product was taken off sale (unpublished, archived or deleted): every public subscription ends, so
   * the storefront gets none of the topic's later events; a direct client is told `unsubscribed` `withdrawn`
   * first, a session reads it from the close code. Subscriptions opened with a catalog grant (staff) go on.
   * Returns how many ended.
   */
  async withdraw(): Promise<number> {
    let ended = 0;
    for (const ws of this.ctx.getWebSockets()) {
      const attachment = this.attachmentOf(ws);
      if (!attachment.public) continue;
      try {
        if (attachment.transport === 'direct') {
          ws.send(encodeControl({ type: 'unsubscribed', topic: attachment.topic, reason: 'withdrawn' }));
        }
        ws.close(CHANNEL_CLOSE_CODES.withdrawn, 'withdrawn');
        ended += 1;
      } catch {
        // Closing or closed already: its close handler forgets it.
      }
    }
    return ended;
  }

  /**
   * A direct client's message (live-direct-client.ts). A session never sends anything but pings, which the runtime
   * answers; anything else from a session is ignored.
   */
  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const attachment = this.attachmentOf(ws);
    if (attachment.transport === 'direct') this.directClients.receive(ws, attachment.topic, message);
  }

  /**
   * The peer closed: answer its Close frame, which the runtime does not do for a hibernatable socket (without
   * it a client's close waited 10 s for the reply, and a live session's channel socket lingered as long). The
   * answer echoes the peer's code, or carries none when that code may not be sent, as the runtime answers on a
   * socket it replies for.
   */
  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    try {
      if (UNSENDABLE_CLOSE_CODES.has(code)) ws.close();
      else ws.close(code, 'closed');
    } catch {
      // The channel had closed it first (expiry, slow consumer, rate limit): the handshake is complete.
    }
    this.forget(ws, END_REASONS[code] ?? 'client_closed');
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.forget(ws, 'error');
  }

  /**
   * When the last subscriber leaves, the retention window starts counting, also for a topic never published to
   * (its row is saved at seq 0), so what is published next is kept for the subscriber to replay. A direct
   * client's connection ends here, so its end-of-connection line is written here too (a live session writes its
   * own).
   */
  private forget(ws: WebSocket, reason: string): void {
    const now = Date.now();
    const { transport, topic, opened, subscribedAt } = this.attachmentOf(ws);
    const others = this.ctx.getWebSockets().filter((other) => other !== ws);
    if (others.length === 0) this.store.saveChannel({ ...this.channelFor(topic), lastSubscriberAt: now });
    if (transport !== 'direct' || !opened) return;
    createLogger({ request_id: opened.requestId }).info('live session ended', {
      transport,
      topic,
      ticket_holder: opened.holder,
      reason,
      duration_ms: now - subscribedAt,
    });
  }

  /** The channel row (made up, not saved, for a topic with none yet). One object serves one topic. */
  private channelFor(topic: Topic): ChannelRow {
    const channel = this.store.channel();
    if (channel && channel.topic !== topic) {
      throw new Error(`the channel of ${channel.topic} was called for ${topic}`);
    }
    return channel ?? { topic, seq: 0, lastSubscriberAt: 0 };
  }

  /** `subscribed`, then: the retained state (new subscriber), the missed events, or `resync` and the state. */
  private catchUp(channel: ChannelRow, subscription: ChannelSubscription, now: number): string[] {
    const { topic, seq } = channel;
    const subscribed = encodeControl({ type: 'subscribed', topic, seq });
    const { afterSeq } = subscription;
    if (afterSeq === undefined) return [subscribed, ...this.store.retainedEvents()];
    const missed = afterSeq <= seq ? this.store.eventsAfter(afterSeq, seq, now) : null;
    if (missed) return [subscribed, ...missed];
    return [subscribed, encodeControl({ type: 'resync', topic, seq }), ...this.store.retainedEvents()];
  }

  /**
   * Sends `body` unless the subscription has ended or its reader fell too far behind (then closes it). A session
   * tells its client why from the close code; a direct client is told in a message first, as a session would.
   */
  private deliver(ws: WebSocket, body: string, now: number): boolean {
    const attachment = this.attachmentOf(ws);
    const direct = attachment.transport === 'direct';
    try {
      if (attachment.until !== null && attachment.until <= now) {
        if (direct) {
          ws.send(encodeControl({ type: 'unsubscribed', topic: attachment.topic, reason: 'expired' }));
        }
        ws.close(CHANNEL_CLOSE_CODES.expired, 'subscription expired');
        return false;
      }
      if (ws.bufferedAmount > LIVE_LIMITS.maxBacklogBytes) {
        if (direct) ws.send(SLOW_CONSUMER_ERROR);
        ws.close(CHANNEL_CLOSE_CODES.slowConsumer, 'slow consumer');
        return false;
      }
      ws.send(body);
      return true;
    } catch {
      // Closing or closed already: its close handler forgets it.
      return false;
    }
  }

  private attachmentOf(ws: WebSocket): SubscriberAttachment {
    let attachment = this.attachments.get(ws);
    if (!attachment) {
      attachment = ws.deserializeAttachment() as SubscriberAttachment;
      this.attachments.set(ws, attachment);
    }
    return attachment;
  }
}
