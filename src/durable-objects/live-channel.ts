/**
 * One live channel: clients connect over a WebSocket and the object answers them. The seed of the real-time
 * issue; today it only proves the path (Worker -> app -> Durable Object -> 101) and the message contract.
 *
 * Sockets are accepted through the Hibernation API, so an idle channel costs nothing: the runtime keeps the
 * connections while the object is evicted and wakes it for each message.
 */
import { DurableObject } from 'cloudflare:workers';
import { z } from 'zod';

/** A client message larger than this is refused, not parsed. */
export const MAX_MESSAGE_BYTES = 4096;

const ClientMessage = z.discriminatedUnion('type', [z.object({ type: z.literal('ping') })]);
export type ClientMessage = z.infer<typeof ClientMessage>;

export type ServerMessage = { type: 'pong' } | { type: 'error'; code: 'invalid_message' };

/** The message as sent, or null if it is binary, too large, not JSON or not a message we know. */
export function parseClientMessage(message: string | ArrayBuffer): ClientMessage | null {
  if (typeof message !== 'string') return null;
  if (new TextEncoder().encode(message).byteLength > MAX_MESSAGE_BYTES) return null;
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    return null;
  }
  const parsed = ClientMessage.safeParse(json);
  return parsed.success ? parsed.data : null;
}

export class LiveChannel extends DurableObject<Env> {
  /** Accepts a WebSocket upgrade (the route has already checked the `Upgrade` header). */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('Expected a WebSocket upgrade', { status: 426, headers: { Upgrade: 'websocket' } });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const parsed = parseClientMessage(message);
    // A bad message is answered, not punished: the socket stays open.
    const reply: ServerMessage =
      parsed === null ? { type: 'error', code: 'invalid_message' } : { type: 'pong' };
    ws.send(JSON.stringify(reply));
  }

  override async webSocketClose(): Promise<void> {
    // The runtime has already answered the close frame (compatibility date >= 2026-04-07,
    // web_socket_auto_reply_to_close) and forgets the socket; a channel keeps no per-socket state yet.
  }
}
