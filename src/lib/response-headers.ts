import type { Context } from 'hono';
import type { AppEnv } from './app-env';

/**
 * A switched-protocols response (a WebSocket accepted by a Durable Object) belongs to the socket: its headers are
 * immutable, and copying it to add some would hand the client a response that is no longer the upgrade. Every
 * middleware that writes headers after `next()` asks this first and leaves such a response untouched.
 */
export function isUpgradeResponse(res: Response): boolean {
  return res.status === 101 || res.webSocket != null;
}

/**
 * Adds headers to the finished response in place. Hono's `c.header()` copies the whole Response on every call
 * once a response exists, which measurably slowed every cached read. A Response passed through from `fetch()`
 * has immutable headers, and only then is the copy made. An upgrade response is left as it is.
 */
export function addResponseHeaders(
  c: Context<AppEnv>,
  headers: [name: string, value: string, append?: 'append'][],
): void {
  if (isUpgradeResponse(c.res)) return;
  try {
    for (const [name, value, append] of headers) {
      if (append) c.res.headers.append(name, value);
      else c.res.headers.set(name, value);
    }
  } catch {
    for (const [name, value, append] of headers) c.header(name, value, { append: append === 'append' });
  }
}

/** The request asks to become a WebSocket (RFC 6455 `Upgrade: websocket`, case-insensitive). */
export function isWebSocketUpgrade(c: Context<AppEnv>): boolean {
  return c.req.header('Upgrade')?.toLowerCase() === 'websocket';
}
