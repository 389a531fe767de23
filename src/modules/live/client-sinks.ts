/**
 * Where a live session writes for its client: a WebSocket or an SSE stream. Both report their backlog (bytes
 * written that the client has not taken), which is how a session tells a slow reader from a fast one.
 */
import type { Topic } from '../../lib/live-messages';
import { formatCursor, type Positions } from './sse-cursor';

export interface ClientSink {
  /** One protocol message (JSON text). */
  send(message: string): void;
  backlog(): number;
  /** Ends the connection; `code` is the WebSocket close code (an SSE stream just ends). */
  close(code: number, reason: string): void;
  /** Called every heartbeat: SSE writes a comment so proxies keep the idle stream; WebSocket clients ping. */
  keepAlive(): void;
}

export class WebSocketSink implements ClientSink {
  constructor(private readonly ws: WebSocket) {}

  send(message: string): void {
    this.ws.send(message);
  }

  backlog(): number {
    return this.ws.bufferedAmount;
  }

  close(code: number, reason: string): void {
    try {
      this.ws.close(code, reason);
    } catch {
      // Already closing: the client left first.
    }
  }

  keepAlive(): void {}
}

/** Bytes an SSE stream queues before it counts as backed up (its backlog is measured above this). */
const HIGH_WATER_MARK = 16 * 1024;
/** What the browser waits before reconnecting a dropped EventSource. */
export const SSE_RETRY_MS = 2_000;

type SeqFields = { type?: unknown; topic?: unknown; seq?: unknown };

/**
 * A `text/event-stream` body. Each message is one event whose data is the message JSON; messages that carry a
 * seq also set the event id to the stream's cursor (sse-cursor.ts), so `Last-Event-ID` resumes every topic.
 */
export class SseSink implements ClientSink {
  readonly body: ReadableStream<Uint8Array>;
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private open = true;
  private readonly encoder = new TextEncoder();

  constructor(
    private readonly topics: readonly Topic[],
    private readonly positions: Positions,
    onCancel: () => void,
  ) {
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        cancel: () => {
          this.open = false;
          onCancel();
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark: HIGH_WATER_MARK }),
    );
    this.write(`retry: ${SSE_RETRY_MS}\n\n`);
  }

  send(message: string): void {
    const id = this.advance(JSON.parse(message) as SeqFields);
    this.write(`${id === null ? '' : `id: ${id}\n`}data: ${message}\n\n`);
  }

  backlog(): number {
    return this.open ? HIGH_WATER_MARK - (this.controller?.desiredSize ?? HIGH_WATER_MARK) : 0;
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.controller?.close();
  }

  keepAlive(): void {
    this.write(': keep-alive\n\n');
  }

  private write(text: string): void {
    if (this.open) this.controller?.enqueue(this.encoder.encode(text));
  }

  /** Moves the topic's position for a message with a seq; the new cursor, or null if it did not move. */
  private advance(message: SeqFields): string | null {
    const index = this.topics.indexOf(message.topic as Topic);
    if (index < 0 || typeof message.seq !== 'number') return null;
    const before = this.positions[index];
    if (message.type === 'subscribed') this.positions[index] = before ?? message.seq;
    else if (message.type === 'resync') this.positions[index] = message.seq;
    else this.positions[index] = Math.max(before ?? 0, message.seq);
    return formatCursor(this.positions);
  }
}
