/**
 * A live session's subscription to one LiveChannel object: the socket the channel accepted with the Hibernation
 * API. Opened by `openChannelSocket`, then `start`ed once the session still wants it (messages wait until then).
 * Pings are answered by the channel's runtime without waking the object; one still unanswered at the next
 * heartbeat means the channel is gone.
 */
import {
  CHANNEL_PING,
  CHANNEL_PONG,
  type ChannelSubscription,
  channelStub,
  type LiveChannelNamespace,
  subscriptionRequest,
} from '../../lib/live-channel-contract';

export type ChannelSocketEvents = {
  message(text: string): void;
  /** The channel (or the runtime) closed the socket; not called after `close()`. */
  closed(code: number): void;
};

export class ChannelSocket {
  private awaitingPong = false;
  private closedByUs = false;

  constructor(private readonly ws: WebSocket) {}

  start(events: ChannelSocketEvents): void {
    this.ws.accept();
    this.ws.addEventListener('message', (event) => {
      const text = String(event.data);
      if (text === CHANNEL_PONG) this.awaitingPong = false;
      else events.message(text);
    });
    const onClose = (code: number) => {
      if (this.closedByUs) return;
      this.closedByUs = true;
      events.closed(code);
    };
    this.ws.addEventListener('close', (event) => onClose(event.code));
    this.ws.addEventListener('error', () => onClose(1006));
  }

  /** Pings the channel; false if the previous ping is still unanswered. */
  ping(): boolean {
    if (this.awaitingPong) return false;
    this.awaitingPong = true;
    this.ws.send(CHANNEL_PING);
    return true;
  }

  close(): void {
    if (this.closedByUs) return;
    this.closedByUs = true;
    try {
      this.ws.close(1000, 'unsubscribed');
    } catch {
      // The channel closed it first.
    }
  }
}

/**
 * The channel's 101 answer to `subscription` and the socket it carries. A session keeps the socket
 * (`openChannelSocket`); `GET /v1/live/channel` returns the answer to the client as it is, so the client's
 * WebSocket is the channel's, with nothing in between.
 */
export async function channelUpgrade(
  ns: LiveChannelNamespace,
  subscription: ChannelSubscription,
): Promise<{ res: Response; socket: WebSocket }> {
  const res = await channelStub(ns, subscription.topic).fetch(subscriptionRequest(subscription));
  if (!res.webSocket)
    throw new Error(`channel ${subscription.topic} refused the subscription: ${res.status}`);
  return { res, socket: res.webSocket };
}

export async function openChannelSocket(
  ns: LiveChannelNamespace,
  subscription: ChannelSubscription,
): Promise<ChannelSocket> {
  const { socket } = await channelUpgrade(ns, subscription);
  return new ChannelSocket(socket);
}
