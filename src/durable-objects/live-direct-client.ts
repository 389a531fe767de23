/**
 * What a LiveChannel does with messages from a direct client: a browser whose own WebSocket the channel holds
 * (`GET /v1/live/channel`), following this one topic with no live session in between. Of the live protocol such a
 * socket may send `ping` (exactly CHANNEL_PING is answered by the runtime without waking the object; any other
 * spelling wakes it for the same pong) and `unsubscribe` of its topic, which ends the connection. A subscribe gets
 * `single_topic` (open `/v1/live` to follow several); every malformed or oversized message an `error`; the same
 * message budget as a session's applies, kept in memory per socket (an object evicted after sleeping wakes with a
 * full budget, and it sleeps only after seconds without a message, so the rate stays bounded).
 */
import { encodeControl, LIVE_CLOSE_CODES, type LiveErrorCode, type Topic } from '../lib/live-messages';
import { readClientMessage } from '../modules/live/client-message';
import { MessageBudget, OVER_BUDGET_MESSAGE } from '../modules/live/message-budget';

export class DirectClients {
  private readonly budgets = new WeakMap<WebSocket, MessageBudget>();

  /** One message from `ws`, a direct client of `topic`. Never throws. */
  receive(ws: WebSocket, topic: Topic, data: string | ArrayBuffer): void {
    const verdict = this.budgetOf(ws).take();
    if (verdict === 'exhausted') {
      close(ws, LIVE_CLOSE_CODES.policyViolation, 'rate limit exceeded');
      return;
    }
    if (verdict === 'refused') {
      sendError(ws, 'rate_limited', OVER_BUDGET_MESSAGE);
      return;
    }
    const read = readClientMessage(data);
    if (!read.ok) {
      sendError(ws, read.code, read.message);
      return;
    }
    const { message } = read;
    switch (message.type) {
      case 'ping':
        send(ws, encodeControl({ type: 'pong' }));
        return;
      case 'unsubscribe':
        if (message.topic !== topic) {
          sendError(ws, 'not_subscribed', 'This connection does not follow the topic.', message.topic);
          return;
        }
        send(ws, encodeControl({ type: 'unsubscribed', topic, reason: 'requested' }));
        close(ws, 1000, 'unsubscribed');
        return;
      case 'subscribe':
        if (message.topic === topic) {
          sendError(ws, 'already_subscribed', 'This connection already follows the topic.', topic);
          return;
        }
        sendError(
          ws,
          'single_topic',
          'This connection follows one topic; open /v1/live to follow several over one connection.',
          message.topic,
        );
        return;
    }
  }

  private budgetOf(ws: WebSocket): MessageBudget {
    let budget = this.budgets.get(ws);
    if (!budget) {
      budget = new MessageBudget();
      this.budgets.set(ws, budget);
    }
    return budget;
  }
}

function sendError(ws: WebSocket, code: LiveErrorCode, message: string, topic?: Topic): void {
  send(ws, encodeControl({ type: 'error', code, message, ...(topic !== undefined && { topic }) }));
}

function send(ws: WebSocket, message: string): void {
  try {
    ws.send(message);
  } catch {
    // Closing already: the client left first.
  }
}

function close(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // Closed already.
  }
}
