/**
 * The WebSocket path end to end: a client upgrades through the Worker (every global middleware, the router,
 * the LiveChannel Durable Object) and talks to the channel; anything else on the route is a 426.
 */
import { exports } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_MESSAGE_BYTES } from '../../src/durable-objects/live-channel';
import { ORIGIN } from '../helpers/http';

/** Upgrades through the Worker entry, as a client would, and returns the accepted client end. */
async function connect(headers: Record<string, string> = {}) {
  const res = await exports.default.fetch(
    new Request(`${ORIGIN}/v1/live`, { headers: { Upgrade: 'websocket', ...headers } }),
  );
  expect(res.status).toBe(101);
  const ws = res.webSocket;
  if (!ws) throw new Error('the 101 response carries no WebSocket');
  ws.accept();
  return { res, ws, replies: messages(ws) };
}

/** Every message the socket receives, in order: `next()` waits for the following one. */
function messages(ws: WebSocket) {
  const received: unknown[] = [];
  const waiting: ((message: unknown) => void)[] = [];
  ws.addEventListener('message', (event) => {
    const message: unknown = JSON.parse(String(event.data));
    const resolve = waiting.shift();
    if (resolve) resolve(message);
    else received.push(message);
  });
  return {
    next: () =>
      new Promise<unknown>((resolve) => {
        if (received.length > 0) resolve(received.shift());
        else waiting.push(resolve);
      }),
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('GET /v1/live', () => {
  it('upgrades to a WebSocket whose channel answers ping with pong', async () => {
    const { ws, replies } = await connect();
    ws.send(JSON.stringify({ type: 'ping' }));
    expect(await replies.next()).toStrictEqual({ type: 'pong' });
    ws.close(1000, 'done');
  });

  it('answers a bad message with an error and keeps the socket open', async () => {
    const { ws, replies } = await connect();
    const bad = [
      '{"type":',
      'not json',
      JSON.stringify({ type: 'subscribe' }),
      JSON.stringify({ kind: 'ping' }),
      JSON.stringify([{ type: 'ping' }]),
      JSON.stringify({ type: 'ping', pad: 'x'.repeat(MAX_MESSAGE_BYTES) }),
      new Uint8Array([1, 2, 3]),
    ];
    for (const message of bad) {
      ws.send(message);
      expect(await replies.next()).toStrictEqual({ type: 'error', code: 'invalid_message' });
    }
    // Still open: the next good message is answered.
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.send(JSON.stringify({ type: 'ping' }));
    expect(await replies.next()).toStrictEqual({ type: 'pong' });
    ws.close(1000, 'done');
  });

  it('passes the global middleware untouched, even with a browser Origin', async () => {
    // Browsers always send Origin on a WebSocket handshake; CORS must not copy the 101 response.
    const log = vi.spyOn(console, 'log');
    const { res, ws, replies } = await connect({
      Origin: 'https://shop.test',
      'X-Request-Id': 'live-test-0001',
    });
    expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull();
    expect(res.headers.get('X-Request-Id')).toBeNull();
    expect(res.headers.get('Server-Timing')).toBeNull();
    // The request line is still written.
    const lines = log.mock.calls
      .map(([line]) => String(line))
      .filter((line) => line.includes('live-test-0001'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toMatchObject([
      { level: 'info', msg: 'request', method: 'GET', path: '/v1/live', status: 101 },
    ]);
    ws.send(JSON.stringify({ type: 'ping' }));
    expect(await replies.next()).toStrictEqual({ type: 'pong' });
    ws.close(1000, 'done');
  });

  it('answers a plain GET with 426 problem+json', async () => {
    const res = await exports.default.fetch(new Request(`${ORIGIN}/v1/live`));
    expect(res.status).toBe(426);
    expect(res.headers.get('Content-Type')).toBe('application/problem+json');
    expect(res.headers.get('Upgrade')).toBe('websocket');
    const requestId = res.headers.get('X-Request-Id');
    expect(requestId).toBeTruthy();
    expect(await res.json()).toStrictEqual({
      type: 'https://edgecart.dev/problems/upgrade_required',
      title: 'Upgrade Required',
      status: 426,
      detail: 'This endpoint only accepts a WebSocket upgrade.',
      code: 'upgrade_required',
      request_id: requestId,
    });
  });
});
