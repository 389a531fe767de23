/**
 * One client connection (a WebSocket or an SSE stream), held by the Worker for as long as the client stays.
 * It subscribes to each topic the client follows over its own socket to the topic's LiveChannel object
 * (channel-socket.ts), forwards what the channels send, and enforces the limits: subscriptions per connection,
 * message size and rate, and a backlog beyond which the client is dropped as too slow. Nothing a client sends
 * can make it throw: every refusal is an `error` message, and the connection stays open unless a limit says
 * otherwise (rate: close 1008; backlog: close 4008).
 */
import { AppError } from '../../lib/errors';
import { CHANNEL_CLOSE_CODES, type LiveTransport } from '../../lib/live-channel-contract';
import {
  encodeControl,
  LIVE_CLOSE_CODES,
  LIVE_LIMITS,
  type LiveErrorCode,
  type Topic,
  type UnsubscribeReason,
} from '../../lib/live-messages';
import { describeError, type Logger } from '../../lib/logger';
import { subscriptionAccess } from './access';
import { type ChannelSocket, openChannelSocket } from './channel-socket';
import { readClientMessage } from './client-message';
import type { ClientSink } from './client-sinks';
import { MessageBudget, OVER_BUDGET_MESSAGE } from './message-budget';
import { type Grant, verifyTicket } from './tickets';

/** How often a session pings its channels (and an SSE stream writes a keep-alive comment). */
export const HEARTBEAT_MS = 25_000;

const OPENING = 'opening';

/** When a subscription ends (null: with its topic) and whether it ends when its product is taken off sale. */
export type TopicAccess = { until: number | null; public: boolean };

export type SessionOptions = {
  transport: LiveTransport;
  /** What the connection's own ticket grants, if it was opened with one. */
  grants: readonly Grant[];
  logger: Logger;
  now?: () => number;
  /** HEARTBEAT_MS unless a test needs heartbeats sooner. */
  heartbeatMs?: number;
};

/** What a client is told when its channel closed its subscription, by the channel's close code. */
const CLOSE_REASONS: Record<number, UnsubscribeReason> = {
  [CHANNEL_CLOSE_CODES.expired]: 'expired',
  [CHANNEL_CLOSE_CODES.withdrawn]: 'withdrawn',
};

export class LiveSession {
  private readonly subscriptions = new Map<Topic, ChannelSocket | typeof OPENING>();
  private readonly budget: MessageBudget;
  private readonly startedAt: number;
  private delivered = 0;
  private endReason: string | null = null;
  private readonly heartbeatTimer: ReturnType<typeof setInterval>;

  constructor(
    private readonly env: Env,
    private readonly sink: ClientSink,
    private readonly options: SessionOptions,
  ) {
    const now = options.now ?? Date.now;
    this.budget = new MessageBudget(now);
    this.startedAt = now();
    this.heartbeatTimer = setInterval(() => this.heartbeat(), options.heartbeatMs ?? HEARTBEAT_MS);
  }

  /** A message from a WebSocket client. Never throws. */
  async receive(data: string | ArrayBuffer): Promise<void> {
    if (this.endReason !== null) return;
    const verdict = this.budget.take();
    if (verdict === 'exhausted') {
      this.sink.close(LIVE_CLOSE_CODES.policyViolation, 'rate limit exceeded');
      this.end('rate_limited');
      return;
    }
    if (verdict === 'refused') {
      this.error('rate_limited', OVER_BUDGET_MESSAGE);
      return;
    }
    try {
      await this.handle(data);
    } catch (error) {
      this.options.logger.error('live message failed', {
        transport: this.options.transport,
        ...describeError(error),
      });
      this.error('unavailable', 'The message could not be handled; try again.');
    }
  }

  private async handle(data: string | ArrayBuffer): Promise<void> {
    const read = readClientMessage(data);
    if (!read.ok) {
      this.error(read.code, read.message);
      return;
    }
    const { message } = read;
    switch (message.type) {
      case 'ping':
        this.deliver(encodeControl({ type: 'pong' }));
        return;
      case 'unsubscribe':
        this.unsubscribe(message.topic);
        return;
      case 'subscribe':
        await this.subscribe(message.topic, message.after_seq, message.ticket);
        return;
    }
  }

  /** Subscribes a WebSocket client: the topic must be open to the connection's grants or the message's ticket. */
  private async subscribe(
    topic: Topic,
    afterSeq: number | undefined,
    ticket: string | undefined,
  ): Promise<void> {
    if (!this.reserve(topic)) return;
    const grants = [...this.options.grants];
    if (ticket !== undefined) {
      try {
        grants.push(await verifyTicket(this.env, ticket));
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        this.release(topic);
        this.error('invalid_ticket', error.message, topic);
        return;
      }
    }
    const access = await subscriptionAccess(this.env, topic, grants);
    if (!access.ok) {
      this.release(topic);
      this.error(access.code, access.message, topic);
      return;
    }
    await this.open(topic, access, afterSeq);
  }

  /**
   * Subscribes to topics whose access was checked before the connection opened (an SSE stream's, or a WebSocket
   * URL's `topics`).
   */
  async follow(topic: Topic, access: TopicAccess, afterSeq: number | undefined): Promise<void> {
    if (this.reserve(topic)) await this.open(topic, access, afterSeq);
  }

  /** Claims a place for `topic`, or says why not. Claimed before any wait, so a duplicate is refused at once. */
  private reserve(topic: Topic): boolean {
    if (this.subscriptions.has(topic)) {
      this.error('already_subscribed', 'This connection already follows the topic.', topic);
      return false;
    }
    if (this.subscriptions.size >= LIVE_LIMITS.maxSubscriptions) {
      this.error(
        'too_many_subscriptions',
        `A connection follows at most ${LIVE_LIMITS.maxSubscriptions} topics; unsubscribe from one first.`,
        topic,
      );
      return false;
    }
    this.subscriptions.set(topic, OPENING);
    return true;
  }

  private release(topic: Topic): void {
    if (this.subscriptions.get(topic) === OPENING) this.subscriptions.delete(topic);
  }

  private async open(topic: Topic, access: TopicAccess, afterSeq: number | undefined): Promise<void> {
    let socket: ChannelSocket;
    try {
      socket = await openChannelSocket(this.env.LIVE_CHANNEL, {
        topic,
        until: access.until,
        public: access.public,
        transport: this.options.transport,
        ...(afterSeq !== undefined && { afterSeq }),
      });
    } catch (error) {
      this.options.logger.error('live channel unreachable', { topic, ...describeError(error) });
      this.release(topic);
      this.error('unavailable', 'The topic cannot be followed right now; try again.', topic);
      return;
    }
    // Unsubscribed, or the client left, while the channel was answering.
    if (this.endReason !== null || this.subscriptions.get(topic) !== OPENING) {
      socket.close();
      return;
    }
    this.subscriptions.set(topic, socket);
    socket.start({
      message: (text) => this.deliver(text),
      closed: (code) => this.channelClosed(topic, socket, code),
    });
  }

  private unsubscribe(topic: Topic): void {
    const subscription = this.subscriptions.get(topic);
    if (subscription === undefined) {
      this.error('not_subscribed', 'This connection does not follow the topic.', topic);
      return;
    }
    this.subscriptions.delete(topic);
    if (subscription !== OPENING) subscription.close();
    this.deliver(encodeControl({ type: 'unsubscribed', topic, reason: 'requested' }));
  }

  private channelClosed(topic: Topic, socket: ChannelSocket, code: number): void {
    if (this.subscriptions.get(topic) !== socket) return;
    this.subscriptions.delete(topic);
    const reason = CLOSE_REASONS[code] ?? 'channel_closed';
    this.deliver(encodeControl({ type: 'unsubscribed', topic, reason }));
    // An SSE client cannot subscribe again, and EventSource reconnects (with Last-Event-ID, resuming every
    // topic after its seq) only when the stream ends; left open, the stream would carry nothing for the topic.
    // (A stream ends without a code: 1012, "service restart", is only what a WebSocket would be told.)
    if (reason === 'channel_closed' && this.options.transport === 'sse') {
      this.sink.close(1012, 'channel closed');
      this.end('channel_closed');
    }
  }

  /** Every HEARTBEAT_MS: keeps an SSE stream alive and ends subscriptions whose channel stopped answering. */
  private heartbeat(): void {
    this.sink.keepAlive();
    for (const [topic, subscription] of this.subscriptions) {
      if (subscription === OPENING || subscription.ping()) continue;
      subscription.close();
      this.channelClosed(topic, subscription, 1006);
    }
  }

  /** Sends to the client, unless it has fallen too far behind: then it is dropped (it reconnects and replays). */
  private deliver(message: string): void {
    if (this.endReason !== null) return;
    if (this.sink.backlog() > LIVE_LIMITS.maxBacklogBytes) {
      this.sink.send(
        encodeControl({
          type: 'error',
          code: 'slow_consumer',
          message: 'Messages were not read fast enough; reconnect with your last seqs.',
        }),
      );
      this.sink.close(LIVE_CLOSE_CODES.slowConsumer, 'slow consumer');
      this.end('slow_consumer');
      return;
    }
    this.sink.send(message);
    this.delivered += 1;
  }

  private error(code: LiveErrorCode, message: string, topic?: Topic): void {
    this.deliver(encodeControl({ type: 'error', code, message, ...(topic !== undefined && { topic }) }));
  }

  /** The client is gone or was dropped: every channel socket closes. Idempotent. */
  end(reason = 'client_closed'): void {
    if (this.endReason !== null) return;
    this.endReason = reason;
    clearInterval(this.heartbeatTimer);
    for (const subscription of this.subscriptions.values()) {
      if (subscription !== OPENING) subscription.close();
    }
    this.subscriptions.clear();
    this.options.logger.info('live session ended', {
      transport: this.options.transport,
      // Who the connection's ticket was issued to, if it had one (`customer:cus_...`, `staff:stf_...`).
      ticket_holder: this.options.grants.map((grant) => grant.holder).join(',') || null,
      reason,
      delivered: this.delivered,
      duration_ms: (this.options.now ?? Date.now)() - this.startedAt,
    });
  }
}
