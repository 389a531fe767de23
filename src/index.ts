/**
 * The Worker's entry points: `fetch` (the HTTP API, src/app.ts) and `scheduled` (cron triggers, src/jobs/).
 * Durable Object classes are exported from here so the runtime can find them by `class_name`.
 */
import { createApp } from './app';
import { runScheduled } from './jobs/schedule';

export { InventoryItem } from './durable-objects/inventory-item';
export { LiveChannel } from './durable-objects/live-channel';

const app = createApp();

export default {
  fetch: app.fetch,
  scheduled: (controller, env, _ctx) => runScheduled(controller, env),
} satisfies ExportedHandler<Env>;
