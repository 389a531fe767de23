/**
 * Concurrent misses of one key in an isolate are rendered once (src/middleware/edge-cache.ts): after a write
 * makes a hot listing miss, the first request renders it and the others wait for its entry, each answered with
 * a response of its own (request id, CORS, 304). Seen through the D1 meter: only one request ran queries.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { invalidateCatalogCache } from '../helpers/cache-versions';
import { insertProductRow, seedRegions } from '../helpers/catalog-fixtures';
import { call } from '../helpers/http';
import { cacheStatusOf, d1CostOf, logLines } from '../helpers/request-cost';
import { unique } from '../helpers/unique';

const N = 8;

beforeAll(seedRegions);

beforeEach(() => {
  // A frozen clock: the isolate re-reads the versions only when a test moves them.
  vi.useFakeTimers({ toFake: ['Date'] });
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/**
 * Moves every cache version, and lets one request read them, as the first shopper after a write does: requests
 * that arrive while a read runs keep serving the view they have (src/lib/cache-versions.ts).
 */
async function afterInvalidation() {
  await invalidateCatalogCache();
  await (await call('/v1/store/regions', { cf: { country: 'DE' } })).arrayBuffer();
}

function concurrently(path: string, init: (i: number) => RequestInit = () => ({})) {
  return Promise.all(
    Array.from({ length: N }, (_, i) =>
      call(path, { ...init(i), cf: { country: 'DE' } }).then(async (res) => ({
        res,
        body: await res.text(),
      })),
    ),
  );
}

describe('concurrent misses of one key', () => {
  it('run the listing once after an invalidation; every request gets the same body and its own headers', async () => {
    const word = unique('hot').replace(/[^a-z0-9]/gi, '');
    for (let i = 0; i < 3; i++) await insertProductRow({ translations: { en: { title: `${word} ${i}` } } });
    const path = `/v1/store/products?q=${word}`;
    await (await call(path, { cf: { country: 'DE' } })).arrayBuffer();
    await afterInvalidation();
    const log = vi.spyOn(console, 'log');

    const answers = await concurrently(path, (i) =>
      i % 2 === 0 ? { headers: { Origin: 'https://shop.test' } } : {},
    );

    const statuses = answers.map(({ res }) => cacheStatusOf(res));
    expect(statuses.filter((s) => s === 'MISS')).toHaveLength(1);
    expect(statuses.filter((s) => s === 'COALESCED')).toHaveLength(N - 1);
    const rendered = answers.find(({ res }) => cacheStatusOf(res) === 'MISS');
    expect(d1CostOf(rendered?.res as Response).queries).toBeGreaterThan(0);
    for (const { res, body } of answers) {
      expect(res.status).toBe(200);
      expect(body).toBe(rendered?.body);
      expect(res.headers.get('ETag')).toBe(rendered?.res.headers.get('ETag'));
      expect(res.headers.get('X-Cache')).toBe('MISS');
      if (res !== rendered?.res)
        expect(d1CostOf(res)).toStrictEqual({ queries: 0, rowsRead: 0, rowsWritten: 0 });
    }
    expect(JSON.parse(rendered?.body as string).data).toHaveLength(3);
    // Each answer carries its own request id and its own CORS decision.
    expect(new Set(answers.map(({ res }) => res.headers.get('X-Request-Id'))).size).toBe(N);
    answers.forEach(({ res }, i) => {
      expect(res.headers.get('Access-Control-Allow-Origin')).toBe(i % 2 === 0 ? 'https://shop.test' : null);
    });
    // One listing query in the whole burst: the log lines of all N requests add up to one render.
    const lines = logLines(log).filter((l) => l.msg === 'request' && l.path === '/v1/store/products');
    expect(lines).toHaveLength(N);
    expect(lines.reduce((sum, l) => sum + Number(l.d1_queries), 0)).toBe(
      d1CostOf(rendered?.res as Response).queries,
    );
  });

  it('answer each waiting request’s If-None-Match on its own', async () => {
    const product = await insertProductRow();
    const path = `/v1/store/products/${product.handle}`;
    const first = await call(path, { cf: { country: 'DE' } });
    const etag = first.headers.get('ETag') as string;
    await first.arrayBuffer();
    await afterInvalidation();

    const answers = await concurrently(path, (i) =>
      i % 2 === 0 ? { headers: { 'If-None-Match': etag } } : {},
    );

    answers.forEach(({ res, body }, i) => {
      expect([res.status, body === '']).toStrictEqual(i % 2 === 0 ? [304, true] : [200, false]);
      expect(res.headers.get('ETag')).toBe(etag);
    });
  });

  it('are not shared when the first one is not cacheable: each renders its own error', async () => {
    const answers = await concurrently(`/v1/store/products/${unique('missing')}`);
    for (const { res, body } of answers) {
      expect(res.status).toBe(404);
      expect(JSON.parse(body).request_id).toBe(res.headers.get('X-Request-Id'));
    }
    expect(new Set(answers.map(({ res }) => res.headers.get('X-Request-Id'))).size).toBe(N);
    expect(answers.filter(({ res }) => d1CostOf(res).queries > 0).length).toBe(N);
  });
});

describe('concurrent misses of different keys', () => {
  it('are rendered each on their own', async () => {
    const products = [await insertProductRow(), await insertProductRow()];
    const answers = await Promise.all(
      products.map((p) => call(`/v1/store/products/${p.handle}`, { cf: { country: 'DE' } })),
    );
    for (const res of answers) {
      expect([res.status, cacheStatusOf(res)]).toStrictEqual([200, 'MISS']);
      await res.arrayBuffer();
    }
  });
});
