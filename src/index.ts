/**
 * The Worker's entry point: `fetch` (the HTTP API, src/app.ts). Durable Object classes are exported from here so
 * the runtime can find them by `class_name`.
 */
import { createApp } from './app';

export { LiveChannel } from './durable-objects/live-channel';

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
