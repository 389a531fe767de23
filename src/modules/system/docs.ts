/**
 * The API reference at /docs, self-hosted and offline: the UI bundle is served from this Worker's own static
 * assets (public/vendor, copied there on install), it loads no web fonts (the default ones come from Scalar's
 * CDN) and shows none of the features that need Scalar's servers or an account (AI agent, MCP generation,
 * the developer toolbar with "Deploy", telemetry). Its CSP is the API's own (src/middleware/security.ts):
 * everything the page loads comes from this origin.
 */
import { Scalar } from '@scalar/hono-api-reference';
import { Hono } from 'hono';
import type { AppEnv } from '../../lib/app-env';

export const DOCS_BUNDLE_PATH = '/vendor/scalar/standalone.js';

export const docsRouter = new Hono<AppEnv>()
  .get(
    '/docs',
    Scalar({
      url: '/openapi.json',
      cdn: DOCS_BUNDLE_PATH,
      pageTitle: 'edgecart API reference',
      withDefaultFonts: false,
      agent: { disabled: true },
      mcp: { disabled: true },
      showDeveloperTools: 'never',
      telemetry: false,
    }),
  )
  // Browsers ask for it on every page; an empty answer instead of a 404 problem in the console and the logs.
  .get('/favicon.ico', (c) => {
    c.header('Cache-Control', 'public, max-age=86400');
    return c.body(null, 204);
  });
