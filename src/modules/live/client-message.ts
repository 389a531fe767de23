/**
 * Reading one message a WebSocket client sent, for both ends that take client messages: a live session
 * (session.ts) and a channel holding a direct client's socket (src/durable-objects/live-channel.ts). Refusals are
 * values, never throws: the caller answers them with an `error` message and keeps the connection.
 */
import { LIVE_LIMITS, LiveClientMessage, type LiveErrorCode } from '../../lib/live-messages';

export type ClientMessageRead =
  | { ok: true; message: LiveClientMessage }
  | { ok: false; code: Extract<LiveErrorCode, 'invalid_message' | 'message_too_large'>; message: string };

const utf8Length = (text: string) => new TextEncoder().encode(text).byteLength;

/** The first problem zod found, as `path: message`, for the client's error message. */
function firstIssue(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  const issue = error.issues[0];
  if (!issue) return 'Not a message of the live protocol.';
  return issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ${issue.message}` : issue.message;
}

export function readClientMessage(data: string | ArrayBuffer): ClientMessageRead {
  if (typeof data !== 'string') {
    return { ok: false, code: 'invalid_message', message: 'Send JSON text messages, not binary ones.' };
  }
  // The length in UTF-16 units bounds the UTF-8 length from below: a long text is refused without encoding it.
  if (
    data.length > LIVE_LIMITS.maxClientMessageBytes ||
    utf8Length(data) > LIVE_LIMITS.maxClientMessageBytes
  ) {
    return {
      ok: false,
      code: 'message_too_large',
      message: `Messages are at most ${LIVE_LIMITS.maxClientMessageBytes} bytes.`,
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return { ok: false, code: 'invalid_message', message: 'Not JSON.' };
  }
  const parsed = LiveClientMessage.safeParse(json);
  if (!parsed.success) return { ok: false, code: 'invalid_message', message: firstIssue(parsed.error) };
  return { ok: true, message: parsed.data };
}
