/** The entry points a first visitor meets: the index at `/`, the reference at /docs and the favicon. */
import { describe, expect, it } from 'vitest';
import { call } from './helpers/http';

describe('GET /', () => {
  it('answers a JSON index with the name, version and where to start', async () => {
    const res = await call('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toBe('application/json');
    expect(await res.json()).toStrictEqual({
      name: 'edgecart API',
      version: '0.1.0',
      links: {
        docs: '/docs',
        openapi: '/openapi.json',
        health: '/health',
        ready: '/ready',
        store: {
          regions: '/v1/store/regions',
          products: '/v1/store/products',
          categories: '/v1/store/categories',
          collections: '/v1/store/collections',
        },
      },
    });
  });

  it('is in the OpenAPI document, with the same version', async () => {
    const doc = (await (await call('/openapi.json')).json()) as {
      info: { version: string };
      paths: Record<string, Record<string, { summary: string }>>;
    };
    expect(doc.info.version).toBe('0.1.0');
    expect(Object.keys(doc.paths['/'] ?? {})).toStrictEqual(['get']);
  });
});

describe('GET /favicon.ico', () => {
  it('answers 204, cacheable, instead of a 404 problem', async () => {
    const res = await call('/favicon.ico');
    expect(res.status).toBe(204);
    expect(res.headers.get('Cache-Control')).toBe('public, max-age=86400');
    expect(await res.text()).toBe('');
  });
});

describe('GET /docs', () => {
  it('loads the bundle from this origin, with no web fonts, AI agent, MCP, developer tools or telemetry', async () => {
    const res = await call('/docs');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<script src="/vendor/scalar/standalone.js"></script>');
    const config = /Scalar\.createApiReference\('#app', (\{.*?\})\)/s.exec(html)?.[1];
    expect(JSON.parse(config ?? 'null')).toMatchObject({
      url: '/openapi.json',
      withDefaultFonts: false,
      agent: { disabled: true },
      mcp: { disabled: true },
      showDeveloperTools: 'never',
      telemetry: false,
    });
    // Everything the page loads comes from this origin, so the API's own CSP fits it.
    expect(res.headers.get('Content-Security-Policy')).toBe(
      "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
    );
    expect(html).not.toMatch(/fonts\.scalar\.com|cdn\.jsdelivr\.net/);
  });
});
