import { describe, expect, it } from 'vitest';
import { createApp } from '../src/app';
import { call } from './helpers/http';

type Operation = { responses: Record<string, unknown>; 'x-permission'?: string; security?: unknown[] };
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

/** Hono paths (`/v1/store/products/:handle`) in OpenAPI form (`/v1/store/products/{handle}`). */
const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z_]+)/g, '{$1}');

describe('OpenAPI document', () => {
  it('documents every route the app serves', async () => {
    const doc = (await (await call('/openapi.json')).json()) as Document;
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    const undocumented = new Set(['GET /docs', 'GET /favicon.ico', 'GET /openapi.json']);
    const served = createApp()
      .routes.filter((r) => r.method !== 'ALL' && !undocumented.has(`${r.method} ${r.path}`))
      .map((r) => `${r.method} ${toOpenApiPath(r.path)}`);
    expect(served.length).toBeGreaterThan(5);
    expect(served.filter((route) => !documented.has(route))).toStrictEqual([]);
  });

  it('gives every operation a success response and every admin operation a permission', async () => {
    const doc = (await (await call('/openapi.json')).json()) as Document;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        // A WebSocket route succeeds with 101 Switching Protocols.
        expect(
          Object.keys(op.responses).some((s) => s.startsWith('2') || s === '101'),
          `${method} ${path}`,
        ).toBe(true);
        if (path.startsWith('/v1/admin/')) {
          expect(op['x-permission'], `${method} ${path}`).toMatch(/^[a-z_]+:[a-z_]+$/);
          expect(op.security, `${method} ${path}`).toBeDefined();
        }
      }
    }
  });
});
