/**
 * The API reference at /docs. The UI bundle is served from this Worker's own static assets
 * (public/vendor, copied there on install), so the page works in `wrangler dev` with no network.
 */
import { Scalar } from '@scalar/hono-api-reference';
import { Hono } from 'hono';
import type { AppEnv } from '../../lib/app-env';

export const DOCS_BUNDLE_PATH = '/vendor/scalar/standalone.js';

export const docsRouter = new Hono<AppEnv>().get(
  '/docs',
  Scalar({ url: '/openapi.json', cdn: DOCS_BUNDLE_PATH, pageTitle: 'edgecart API reference' }),
);
