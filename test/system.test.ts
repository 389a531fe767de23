import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../src/app';
import { insertSecretKey } from './helpers/admin';
import { seedRegions } from './helpers/catalog-fixtures';
import { PASSWORD, registerCustomer, signIn } from './helpers/customers';
import { bearer, call, expectProblem, jsonInit, post, problemOf, randomIp } from './helpers/http';
import { uniqueEmail } from './helpers/unique';

// The storefront paths below need a region for the shopper's country.
beforeAll(seedRegions);

describe('system routes', () => {
  it('answers liveness', async () => {
    const res = await call('/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual({ status: 'ok' });
  });

  it('answers readiness when D1 and KV answer', async () => {
    const res = await call('/ready');
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual({ status: 'ready', checks: { d1: 'ok', kv: 'ok' } });
  });
});

describe('request context', () => {
  it('generates a request id and reports timing on every response', async () => {
    const res = await call('/health');
    expect(res.headers.get('X-Request-Id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('Server-Timing')).toMatch(/total;dur=\d+(\.\d)?$/);
  });

  it('never takes a client’s X-Request-Id as ours: responses and the audit log carry our id', async () => {
    const log = vi.spyOn(console, 'log');
    const key = await insertSecretKey();
    const res = await call(
      '/v1/admin/api-keys',
      jsonInit(
        'POST',
        { kind: 'secret', name: 'trace', permissions: ['catalog:read'] },
        { ...bearer(key.key), 'X-Request-Id': 'trace-abc.123:xyz' },
      ),
    );
    expect(res.status).toBe(201);
    const ours = res.headers.get('X-Request-Id');
    expect(ours).toMatch(/^[0-9a-f-]{36}$/);
    const { id } = (await res.json()) as { id: string };
    const audit = await env.DB.prepare('SELECT request_id FROM audit_log WHERE target_id = ?').bind(id).all();
    expect(audit.results).toStrictEqual([{ request_id: ours }]);
    // The client's id is kept only as a log field of its own, beside ours.
    const lines = log.mock.calls
      .map(([line]) => JSON.parse(String(line)) as Record<string, unknown>)
      .filter((line) => line.msg === 'request' && line.request_id === ours);
    expect(lines).toMatchObject([{ client_request_id: 'trace-abc.123:xyz', status: 201 }]);
    log.mockRestore();
  });

  it('logs no client request id that is not a valid one', async () => {
    const log = vi.spyOn(console, 'log');
    const res = await call('/health', { headers: { 'X-Request-Id': 'bad id <script>' } });
    const ours = res.headers.get('X-Request-Id');
    expect(ours).toMatch(/^[0-9a-f-]{36}$/);
    const line = log.mock.calls
      .map(([entry]) => JSON.parse(String(entry)) as Record<string, unknown>)
      .find((entry) => entry.request_id === ours);
    expect(line).toMatchObject({ msg: 'request', path: '/health' });
    expect(line).not.toHaveProperty('client_request_id');
    log.mockRestore();
  });

  it('sets security headers', async () => {
    const res = await call('/health');
    expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff');
    expect(res.headers.get('Strict-Transport-Security')).toContain('max-age=');
    expect(res.headers.get('Content-Security-Policy')).toContain("frame-ancestors 'none'");
  });
});

describe('CORS', () => {
  it('allows a configured origin on preflight', async () => {
    const res = await call('/v1/store/regions', {
      method: 'OPTIONS',
      headers: { Origin: 'https://shop.test', 'Access-Control-Request-Method': 'GET' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('https://shop.test');
  });

  it('does not allow an unknown origin', async () => {
    const res = await call('/health', { headers: { Origin: 'https://evil.test' } });
    expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });
});

describe('errors are problem+json', () => {
  it('answers an unknown route with 404', async () => {
    const res = await call('/v1/nope');
    expect(res.status).toBe(404);
    const body = await problemOf(res);
    expect(body).toStrictEqual({
      type: 'https://edgecart.dev/problems/route_not_found',
      title: 'Not Found',
      status: 404,
      detail: 'There is no route /v1/nope.',
      code: 'route_not_found',
      request_id: res.headers.get('X-Request-Id'),
    });
  });

  it('answers a wrong method with 405 and Allow', async () => {
    const res = await call('/health', { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('Allow')).toBe('GET, HEAD');
    expect((await problemOf(res)).code).toBe('method_not_allowed');
  });

  it.each(['/v1/store/regions/', '/health/', '/openapi.json/'])(
    'answers GET %s (a served path with a trailing slash) with 404, not a 405 that allows GET',
    async (path) => {
      const res = await call(path, { cf: { country: 'DE' } });
      expect(res.status).toBe(404);
      expect(res.headers.get('Allow')).toBeNull();
      expect(await problemOf(res)).toStrictEqual({
        type: 'https://edgecart.dev/problems/route_not_found',
        title: 'Not Found',
        status: 404,
        detail: `There is no route ${path}.`,
        code: 'route_not_found',
        request_id: res.headers.get('X-Request-Id'),
      });
    },
  );

  it('answers an oversized body with 413 before any handler runs', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(Number(env.MAX_BODY_BYTES)) });
    const res = await call('/v1/admin/products', {
      method: 'POST',
      body: big,
      headers: { 'Content-Type': 'application/json' },
    });
    expect(res.status).toBe(413);
    expect((await problemOf(res)).code).toBe('payload_too_large');
  });

  it('refuses a string holding half a character (a lone surrogate) anywhere in a body with 422, on any route', async () => {
    const email = uniqueEmail();
    const message = 'Not well-formed Unicode: holds half of a character (a lone surrogate)';
    // A high surrogate with nothing after it, and a pair in the wrong order (low, then high).
    const body = { email, password: PASSWORD, first_name: 'Ada \ud83d', last_name: 'Love\ude00\ud83dlace' };
    const res = await post('/v1/auth/customers/register', body);
    await expectProblem(res, 422, 'validation_failed', [
      { pointer: '/body/first_name', message },
      { pointer: '/body/last_name', message },
    ]);
    expect(await env.DB.prepare('SELECT id FROM customers WHERE email = ?').bind(email).first()).toBeNull();
    // Whole characters outside the BMP (a surrogate pair each) are text like any other.
    const whole = await post('/v1/auth/customers/register', {
      ...body,
      first_name: 'Ada 😀',
      last_name: '𝔏ovelace',
    });
    expect(whole.status).toBe(201);
  });

  it('answers an empty body declared as another type with 415 unsupported_media_type too (the route’s own check)', async () => {
    const res = await call('/v1/auth/customers/login', {
      method: 'POST',
      body: '',
      headers: { 'Content-Type': 'text/plain', 'CF-Connecting-IP': randomIp() },
    });
    await expectProblem(res, 415, 'unsupported_media_type');
  });

  it('answers a non-JSON body with 415', async () => {
    const res = await call('/v1/admin/products', {
      method: 'POST',
      body: 'handle=x',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(415);
    expect((await problemOf(res)).code).toBe('unsupported_media_type');
  });
});

describe('DELETE /v1/store/customers/me body guards (its OpenAPI entry lists 413 and 415)', () => {
  /** Asks to erase the account with `body`, then proves the account is still there. */
  async function eraseRefused(body: string, type: string, status: number, code: string) {
    const who = await registerCustomer();
    const res = await call('/v1/store/customers/me', {
      method: 'DELETE',
      body,
      headers: { ...bearer(who.tokens.access_token), 'Content-Type': type },
    });
    await expectProblem(res, status, code);
    expect((await signIn(who.email)).status).toBe(200);
  }

  it('refuses a body that is not JSON with 415 unsupported_media_type, as every other route does', async () => {
    await eraseRefused(JSON.stringify({ password: PASSWORD }), 'text/plain', 415, 'unsupported_media_type');
  });

  it('refuses a body over MAX_BODY_BYTES with 413 payload_too_large', async () => {
    const body = JSON.stringify({ password: 'x'.repeat(Number(env.MAX_BODY_BYTES)) });
    await eraseRefused(body, 'application/json', 413, 'payload_too_large');
  });
});

describe('dev-only routes in production', () => {
  const production = { ...env, ENVIRONMENT: 'production' };
  /** A production app's answer, with what varies per request (the id) and per path (the detail) set aside. */
  async function answer(path: string, method: string) {
    const init = method === 'GET' || method === 'HEAD' ? { method } : jsonInit(method, {});
    const res = await createApp().request(path, init, production);
    const body = method === 'HEAD' ? null : await problemOf(res);
    return {
      status: res.status,
      headers: [...res.headers.keys()].filter((h) => !['x-request-id', 'server-timing'].includes(h)).sort(),
      body: body && { ...body, request_id: null, detail: body.detail.replace(path, '<path>') },
    };
  }

  it('answers every method on a dev path exactly as on an unknown path (404, never 405)', async () => {
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      const dev = await answer('/v1/dev/mailbox', method);
      expect(dev, method).toStrictEqual(await answer('/v1/nowhere/mailbox', method));
      expect(dev.status, method).toBe(404);
    }
    expect((await answer('/v1/dev/mailbox', 'POST')).body).toStrictEqual({
      type: 'https://edgecart.dev/problems/route_not_found',
      title: 'Not Found',
      status: 404,
      detail: 'There is no route <path>.',
      code: 'route_not_found',
      request_id: null,
    });
  });
});

describe('OpenAPI and docs', () => {
  it('serves an OpenAPI 3.1 document', async () => {
    const res = await call('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/health');
  });

  it('serves a docs page that loads its UI from the Worker itself', async () => {
    const res = await call('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toContain('text/html');
    const html = await res.text();
    expect(html).toContain('/vendor/scalar/standalone.js');
    expect(html).toContain('/openapi.json');
    expect(html).not.toMatch(/https:\/\/cdn\./);
    const bundle = await env.ASSETS.fetch('https://assets.local/vendor/scalar/standalone.js');
    expect(bundle.status).toBe(200);
  });
});

describe('unexpected errors', () => {
  it('log the driver reason but never the SQL or bound values, and answer a generic 500', async () => {
    const { onError } = await import('../src/middleware/error-handler');
    const { Hono } = await import('hono');
    const lines: string[] = [];
    const app = new Hono<import('../src/lib/app-env').AppEnv>();
    app.use('*', async (c, next) => {
      c.set('requestId', 'req-test-123');
      c.set('logger', {
        info: () => {},
        warn: () => {},
        error: (msg, fields) => lines.push(JSON.stringify({ msg, ...fields })),
      });
      await next();
    });
    app.get('/boom', () => {
      throw new Error('Failed query: select * from customers where email = ?\nparams: alice@example.com', {
        cause: new Error('D1_ERROR: no such column: emial'),
      });
    });
    app.onError(onError);
    const res = await app.request('/boom');
    expect(res.status).toBe(500);
    expect(await res.json()).toStrictEqual({
      type: 'https://edgecart.dev/problems/internal_error',
      title: 'Internal Server Error',
      status: 500,
      detail: 'Something went wrong on our side. Quote the request id if you report it.',
      code: 'internal_error',
      request_id: 'req-test-123',
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('D1_ERROR: no such column: emial');
    expect(lines[0]).not.toContain('alice@example.com');
    expect(lines[0]).not.toContain('select * from');
  });
});
