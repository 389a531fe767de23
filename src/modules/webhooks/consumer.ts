/**
 * The webhooks module as a consumer of the event queue: each public event is fanned out to the endpoints that
 * subscribe to it. Fan-out is idempotent on its own (one delivery per event and endpoint, by a unique index), so a
 * redelivered event queues nothing twice; internal events never reach it (`internal` is not set).
 */
import { createDb } from '../../lib/db';
import type { EventConsumer } from '../../lib/event-consumer';
import { fanOutEvent } from './fan-out';

export const webhooksConsumer: EventConsumer = {
  name: 'webhooks',
  handles: () => true,
  async consume(env, event, { caller }) {
    await fanOutEvent(createDb(env.DB), env, caller, event);
  },
};
