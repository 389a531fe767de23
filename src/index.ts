/**
 * The Worker's entry points: `fetch` (the HTTP API, src/app.ts), `scheduled` (cron triggers, src/jobs/) and
 * `queue` (queue consumers, dispatched by queue name in src/jobs/queues.ts).
 * Durable Object classes are exported from here so the runtime can find them by `class_name`.
 */
import { createApp } from './app';
import { runQueue } from './jobs/queues';
import { runScheduled } from './jobs/schedule';

export { InventoryItem } from './durable-objects/inventory-item';
export { LiveChannel } from './durable-objects/live-channel';

const app = createApp();

export default {
  fetch: app.fetch,
  scheduled: (controller, env, _ctx) => runScheduled(controller, env),
  queue: (batch, env, ctx) => runQueue(batch, env, ctx),
} satisfies ExportedHandler<Env>;
