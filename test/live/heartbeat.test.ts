/**
 * Heartbeats, on a live session built here with a sink that records what it is given (the session's own I/O, its
 * sockets to the channels, then belongs to this test): every heartbeat keeps an SSE stream alive and pings each
 * channel, whose runtime answers without waking the object; a channel socket whose ping goes unanswered by the
 * next heartbeat is dropped.
 */

import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { CHANNEL_PING, CHANNEL_PONG } from '../../src/lib/live-channel-contract';
import { createLogger } from '../../src/lib/logger';
import { ChannelSocket } from '../../src/modules/live/channel-socket';
import type { ClientSink } from '../../src/modules/live/client-sinks';
import { LiveSession } from '../../src/modules/live/session';
import { autoResponsesOf, BOUNDED_POLL, liveProduct } from './helpers';

/** A sink that keeps what the session sends and counts keep-alives, waking whoever waits for the next one. */
function recordingSink() {
  const sent: unknown[] = [];
  let keepAlives = 0;
  let onKeepAlive = () => {};
  const sink: ClientSink = {
    send: (message) => sent.push(JSON.parse(message)),
    backlog: () => 0,
    close: () => {},
    keepAlive: () => {
      keepAlives += 1;
      onKeepAlive();
    },
  };
  const keepAlive = (count: number) =>
    new Promise<void>((resolve) => {
      onKeepAlive = () => keepAlives >= count && resolve();
      onKeepAlive();
    });
  return { sink, sent, keepAlive };
}

describe('heartbeats', () => {
  it('keep the client alive and ping each channel, answered by the channel’s runtime', async () => {
    const product = await liveProduct();
    const { sink, sent, keepAlive } = recordingSink();
    const session = new LiveSession(env, sink, {
      transport: 'sse',
      grants: [],
      logger: createLogger({ test: 'heartbeat' }),
      heartbeatMs: 20,
    });
    await session.follow(product.topic, { until: null, public: true }, undefined);
    await keepAlive(1);
    await vi.waitFor(async () => {
      expect(await autoResponsesOf(product.topic)).toStrictEqual([expect.any(Date)]);
    }, BOUNDED_POLL);
    // Answered every time: after more heartbeats the subscription is still there.
    await keepAlive(5);
    session.end();
    expect(sent).toStrictEqual([{ v: 1, type: 'subscribed', topic: product.topic, seq: 0 }]);
  });

  it('tell a channel socket from a dead one: a second ping with the first unanswered fails', async () => {
    const { 0: channelEnd, 1: sessionEnd } = new WebSocketPair();
    const pings: string[] = [];
    channelEnd.accept();
    channelEnd.addEventListener('message', (event) => pings.push(String(event.data)));
    const socket = new ChannelSocket(sessionEnd);
    socket.start({ message: () => {}, closed: () => {} });
    expect(socket.ping()).toBe(true);
    expect(socket.ping()).toBe(false);
    await vi.waitFor(() => expect(pings).toStrictEqual([CHANNEL_PING]), BOUNDED_POLL);
    channelEnd.send(CHANNEL_PONG);
    await vi.waitFor(() => expect(socket.ping()).toBe(true), BOUNDED_POLL);
    socket.close();
  });
});
