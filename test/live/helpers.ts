/**
 * Live clients for tests, through the real Worker entry: WebSockets (`Upgrade: websocket` -> `res.webSocket`) and
 * SSE streams, whose messages are parsed with the protocol's own schema, as a browser client would. Every wait is
 * for an event (a message, a close, a stream chunk), bounded only to turn a hang into a failure.
 */
import { runInDurableObject } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { expect } from 'vitest';
import type { LiveChannel, SubscriberAttachment } from '../../src/durable-objects/live-channel';
import { channelStub } from '../../src/lib/live-channel-contract';
import { LIVE_LIMITS, type LiveEventDraft, LiveServerMessage, type Topic } from '../../src/lib/live-messages';
import { publishLive } from '../../src/lib/live-publish';
import { insertProductRow } from '../helpers/catalog-fixtures';
import { ORIGIN } from '../helpers/http';

/** Only a hang: a message that is coming arrives in milliseconds. */
const HANG_MS = 15_000;

/** For `vi.waitFor` on what happens after an answer (a close travelling, a log line): bounded only against a hang. */
export const BOUNDED_POLL = { timeout: HANG_MS, interval: 20 };

function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${HANG_MS} ms`)), HANG_MS);
  });
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
}

/** A queue of values pushed by events: `next()` takes the oldest, waiting for one if there is none. */
class Inbox<T> {
  private readonly items: T[] = [];
  private readonly waiting: ((item: T) => void)[] = [];

  push(item: T): void {
    const resolve = this.waiting.shift();
    if (resolve) resolve(item);
    else this.items.push(item);
  }

  next(what: string): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return bounded(new Promise<T>((resolve) => this.waiting.push(resolve)), what);
  }
}

/** An event's `at`: an ISO timestamp with milliseconds. */
export const AT = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

/** The whole `stock` event of a variant that is in stock and not sold on backorder, as a shopper receives it. */
export function inStockEvent(
  topic: Topic,
  productId: string,
  variantId: string,
  seq: number,
  available: number,
) {
  return {
    v: 1,
    type: 'stock',
    topic,
    seq,
    at: AT,
    data: {
      product_id: productId,
      variant_id: variantId,
      available,
      level: 'in_stock',
      backorder: 'deny',
      purchasable: true,
    },
  };
}

export type LiveMessage = LiveServerMessage;

export class LiveSocket {
  private readonly inbox = new Inbox<LiveMessage>();
  readonly closed: Promise<CloseEvent>;

  constructor(readonly ws: WebSocket) {
    ws.addEventListener('message', (event) => {
      this.inbox.push(LiveServerMessage.parse(JSON.parse(String(event.data))));
    });
    this.closed = new Promise((resolve) => ws.addEventListener('close', resolve));
  }

  send(message: unknown): void {
    this.ws.send(
      typeof message === 'string' || message instanceof Uint8Array ? message : JSON.stringify(message),
    );
  }

  next(): Promise<LiveMessage> {
    return this.inbox.next('live message');
  }

  /** The next `count` messages, in order. */
  async take(count: number): Promise<LiveMessage[]> {
    const messages: LiveMessage[] = [];
    for (let i = 0; i < count; i++) messages.push(await this.next());
    return messages;
  }

  /** The messages up to and including the first `error`. */
  async untilError(): Promise<LiveMessage[]> {
    const messages: LiveMessage[] = [];
    for (;;) {
      const message = await this.next();
      messages.push(message);
      if (message.type === 'error') return messages;
    }
  }

  /** Subscribes and returns what came up to and including `subscribed` (an error instead, if refused). */
  async subscribe(topic: Topic, extra: Record<string, unknown> = {}): Promise<LiveMessage> {
    this.send({ type: 'subscribe', topic, ...extra });
    return this.next();
  }

  async close(): Promise<void> {
    this.ws.close(1000, 'done');
    await bounded(this.closed, 'close');
  }

  waitClosed(): Promise<CloseEvent> {
    return bounded(this.closed, 'close');
  }
}

/** A session's WebSocket (any topics), or a socket held by one topic's channel. */
type SocketPath = '/v1/live' | '/v1/live/channel';

/** Upgrades through the Worker entry, as a client would; the client end is left unaccepted (unread). */
export async function upgrade(
  query = '',
  headers: Record<string, string> = {},
  path: SocketPath = '/v1/live',
): Promise<Response> {
  return exports.default.fetch(
    new Request(`${ORIGIN}${path}${query}`, { headers: { Upgrade: 'websocket', ...headers } }),
  );
}

export async function connect(
  query = '',
  headers: Record<string, string> = {},
  path: SocketPath = '/v1/live',
): Promise<LiveSocket> {
  const res = await upgrade(query, headers, path);
  expect(res.status).toBe(101);
  const ws = res.webSocket;
  if (!ws) throw new Error('the 101 response carries no WebSocket');
  ws.accept();
  return new LiveSocket(ws);
}

export type SseEvent = { id: string | undefined; message: LiveMessage };

/** An SSE response read as a client would: events (comments and `retry` skipped), in order. */
export class LiveStream {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffer = '';
  readonly comments: string[] = [];
  retry: number | undefined;

  constructor(readonly res: Response) {
    if (!res.body) throw new Error('the stream has no body');
    this.reader = res.body.getReader();
  }

  async next(): Promise<SseEvent> {
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const event = this.parse(block);
        if (event) return event;
        continue;
      }
      const chunk = await bounded(this.reader.read(), 'stream chunk');
      if (chunk.done) throw new Error('the stream ended');
      this.buffer += this.decoder.decode(chunk.value, { stream: true });
    }
  }

  async take(count: number): Promise<SseEvent[]> {
    const events: SseEvent[] = [];
    for (let i = 0; i < count; i++) events.push(await this.next());
    return events;
  }

  /** Reads until the server ends the stream; what is left unread must be only events. */
  async ended(): Promise<SseEvent[]> {
    const events: SseEvent[] = [];
    for (;;) {
      try {
        events.push(await this.next());
      } catch (error) {
        if ((error as Error).message === 'the stream ended') return events;
        throw error;
      }
    }
  }

  async cancel(): Promise<void> {
    await this.reader.cancel();
  }

  private parse(block: string): SseEvent | null {
    let id: string | undefined;
    let data: string | undefined;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('retry: ')) this.retry = Number(line.slice(7));
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('data: ')) data = line.slice(6);
      else throw new Error(`unexpected SSE line: ${line}`);
    }
    return data === undefined ? null : { id, message: LiveServerMessage.parse(JSON.parse(data)) };
  }
}

export async function openStream(query: string, headers: Record<string, string> = {}): Promise<Response> {
  return exports.default.fetch(new Request(`${ORIGIN}/v1/live/sse${query}`, { headers }));
}

export async function stream(query: string, headers: Record<string, string> = {}): Promise<LiveStream> {
  const res = await openStream(query, headers);
  expect(res.status).toBe(200);
  expect(res.headers.get('Content-Type')).toBe('text/event-stream');
  return new LiveStream(res);
}

/** An active product with two variants, in D1. */
export async function liveProduct() {
  const product = await insertProductRow({
    variants: [{ prices: { USD: 1000 } }, { prices: { USD: 1500 } }],
  });
  return { id: product.id, topic: `product:${product.id}` as Topic, variants: product.variants };
}

/** Publishes straight to a topic's channel, as the publishers in src/ do. */
export function publish(topic: Topic, draft: LiveEventDraft) {
  return publishLive(env.LIVE_CHANNEL, topic, draft);
}

/** A stock event draft for a variant of `product`. */
export function stockDraft(productId: string, variantId: string, available: number): LiveEventDraft {
  return {
    type: 'stock',
    data: {
      product_id: productId,
      variant_id: variantId,
      available,
      level: available > 0 ? 'in_stock' : 'out_of_stock',
      backorder: 'deny',
      purchasable: available > 0,
    },
  };
}

/** A price event of 50 currencies: about 1.7 KB, so a backlog builds in a few hundred events. */
export function bulkyPrice(productId: string, variantId: string, amount: number): LiveEventDraft {
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  return {
    type: 'price',
    data: {
      product_id: productId,
      variant_id: variantId,
      prices: Array.from({ length: 50 }, (_, i) => ({
        currency: `X${letters[Math.floor(i / 26)]}${letters[i % 26]}`,
        amount,
      })),
    },
  };
}

/** Publishes until the channel has nobody left to send to (the slow subscriber was dropped); how many it took. */
export async function publishUntilDropped(
  topic: Topic,
  productId: string,
  variantId: string,
): Promise<number> {
  const most = (4 * LIVE_LIMITS.maxBacklogBytes) / 1000;
  for (let i = 1; i <= most; i++) {
    const { delivered } = await publish(topic, bulkyPrice(productId, variantId, i));
    if (delivered === 0) return i;
  }
  throw new Error(`still subscribed after ${most} events`);
}

/** The channel object of a topic. */
export const channelOf = (topic: Topic) => channelStub(env.LIVE_CHANNEL, topic);

/** The attachments of a channel's subscriber sockets, as the object would read them after waking. */
export function attachmentsOf(topic: Topic): Promise<SubscriberAttachment[]> {
  return runInDurableObject(channelOf(topic), (_: LiveChannel, state: DurableObjectState) =>
    state.getWebSockets().map((ws) => ws.deserializeAttachment() as SubscriberAttachment),
  );
}

/** Rows of a channel's own SQLite storage. */
export function channelRows(topic: Topic, query: string, ...bindings: unknown[]) {
  return runInDurableObject(channelOf(topic), (_: LiveChannel, state: DurableObjectState) =>
    state.storage.sql.exec(query, ...bindings).toArray(),
  );
}

/** When the runtime last answered a ping on each of a channel's sockets (null: never), without waking it for that. */
export function autoResponsesOf(topic: Topic) {
  return runInDurableObject(channelOf(topic), (_: LiveChannel, state: DurableObjectState) =>
    state.getWebSockets().map((ws) => state.getWebSocketAutoResponseTimestamp(ws)),
  );
}
