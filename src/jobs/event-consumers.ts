/**
 * Every consumer of the event queue. Registering one is one line here; the queue handler (event-queue.ts) calls
 * each consumer for the events it handles, at least once and, through its processed marks, with one effect per
 * event. The interface is in src/lib/event-consumer.ts.
 */
import type { EventConsumer } from '../lib/event-consumer';
import { analyticsConsumer } from '../modules/analytics/consumer';
import { liveConsumer } from '../modules/live/consumer';
import { emailConsumer } from '../modules/notifications/consumer';
import { storefrontConsumer } from '../modules/storefront/consumer';
import { webhooksConsumer } from '../modules/webhooks/consumer';

export const EVENT_CONSUMERS: readonly EventConsumer[] = [
  emailConsumer,
  analyticsConsumer,
  webhooksConsumer,
  liveConsumer,
  storefrontConsumer,
];
