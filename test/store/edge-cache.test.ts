import { HonoRequest } from 'hono/request';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CacheVersions } from '../../src/lib/cache-versions';
import { cacheKeyFor, RESPONSE_FORMAT, versionTag } from '../../src/middleware/edge-cache';
import { invalidateCatalogCache } from '../helpers/cache-versions';
import { insertProductRow, seedRegions, setPriceRow } from '../helpers/catalog-fixtures';
import { call, expectProblem } from '../helpers/http';

beforeAll(seedRegions);

type Listing = { data: { handle: string }[] };
type Detail = { context: { currency: string }; product: { price_range: { min: { amount: number } } } };

describe('edge cache', () => {
  it('misses, then hits, with client caching headers and an ETag', async () => {
    const product = await insertProductRow();
    const path = `/v1/store/products/${product.handle}`;
    const first = await call(path, { cf: { country: 'DE' } });
    expect(first.status).toBe(200);
    expect(first.headers.get('X-Cache')).toBe('MISS');
    const etag = first.headers.get('ETag');
    expect(etag).toMatch(/^"[0-9a-f]{24}"$/);
    expect(first.headers.get('Cache-Control')).toBe('private, no-cache');
    expect(first.headers.get('Vary')).toBe('Accept-Language, Origin');
    expect(first.headers.get('Server-Timing')).toContain('cache;desc="MISS"');
    const firstBody = await first.text();

    const second = await call(path, { cf: { country: 'DE' } });
    expect(second.status).toBe(200);
    expect(second.headers.get('X-Cache')).toBe('HIT');
    expect(second.headers.get('ETag')).toBe(etag);
    expect(second.headers.get('Cache-Control')).toBe('private, no-cache');
    expect(second.headers.get('Server-Timing')).toContain('cache;desc="HIT"');
    expect(await second.text()).toBe(firstBody);
  });

  it('answers If-None-Match with 304 and no body, on a hit and on a miss', async () => {
    const product = await insertProductRow();
    const path = `/v1/store/products/${product.handle}`;
    const first = await call(path, { cf: { country: 'DE' } });
    const etag = first.headers.get('ETag') as string;
    await first.arrayBuffer();

    const hit = await call(path, { cf: { country: 'DE' }, headers: { 'If-None-Match': etag } });
    expect(hit.status).toBe(304);
    expect(hit.headers.get('ETag')).toBe(etag);
    expect(hit.headers.get('X-Cache')).toBe('HIT');
    expect(await hit.text()).toBe('');

    await invalidateCatalogCache();
    const miss = await call(path, {
      cf: { country: 'DE' },
      headers: { 'If-None-Match': `W/${etag}, "other"` },
    });
    expect(miss.status).toBe(304);
    expect(miss.headers.get('X-Cache')).toBe('MISS');

    const changed = await call(path, { cf: { country: 'DE' }, headers: { 'If-None-Match': '"stale"' } });
    expect(changed.status).toBe(200);
  });

  it('answers HEAD as GET without the body: from the cache, with its ETag, caching headers and 304', async () => {
    // HEAD skipped the cache: no ETag, no Cache-Control, no Vary: Accept-Language, a 200 for a matching
    // If-None-Match, and the page rendered from D1 on every HEAD.
    const product = await insertProductRow();
    const path = `/v1/store/products/${product.handle}`;
    const head = await call(path, { method: 'HEAD', cf: { country: 'DE' } });
    expect(head.status).toBe(200);
    expect(head.headers.get('X-Cache')).toBe('MISS');
    const etag = head.headers.get('ETag');
    expect(etag).toMatch(/^"[0-9a-f]{24}"$/);
    expect(head.headers.get('Cache-Control')).toBe('private, no-cache');
    expect(head.headers.get('Vary')).toBe('Accept-Language, Origin');
    expect(head.headers.get('Content-Type')).toBe('application/json');
    expect(await head.text()).toBe('');

    const get = await call(path, { cf: { country: 'DE' } });
    expect(get.headers.get('X-Cache')).toBe('HIT');
    expect(get.headers.get('ETag')).toBe(etag);
    expect(((await get.json()) as { product: { handle: string } }).product.handle).toBe(product.handle);

    const again = await call(path, { method: 'HEAD', cf: { country: 'DE' } });
    expect(again.status).toBe(200);
    expect(again.headers.get('X-Cache')).toBe('HIT');
    expect(again.headers.get('ETag')).toBe(etag);
    expect(again.headers.get('Server-Timing')).toContain('d1_queries;desc=0');
    expect(await again.text()).toBe('');

    const unchanged = await call(path, {
      method: 'HEAD',
      cf: { country: 'DE' },
      headers: { 'If-None-Match': etag as string },
    });
    expect(unchanged.status).toBe(304);
    expect(unchanged.headers.get('ETag')).toBe(etag);
    expect(unchanged.headers.get('Cache-Control')).toBe('private, no-cache');
  });

  it('never serves one region’s cached prices to another', async () => {
    const product = await insertProductRow({ variants: [{ prices: { EUR: 2000, USD: 2100, GBP: 1800 } }] });
    const path = `/v1/store/products/${product.handle}`;
    for (const [country, currency, amount] of [
      ['DE', 'EUR', 2000],
      ['US', 'USD', 2100],
      ['GB', 'GBP', 1800],
      ['DE', 'EUR', 2000],
      ['US', 'USD', 2100],
    ] as const) {
      const res = await call(path, { cf: { country } });
      const body = (await res.json()) as Detail;
      expect([body.context.currency, body.product.price_range.min.amount]).toStrictEqual([currency, amount]);
    }
  });

  it('keys on the resolved locale, so Accept-Language variants do not collide', async () => {
    const product = await insertProductRow({
      translations: { de: { title: 'Tasse' }, en: { title: 'Mug' } },
    });
    const path = `/v1/store/products/${product.handle}`;
    const titles = [];
    for (const language of ['de', 'en', 'de-AT', 'en-US']) {
      const res = await call(path, { cf: { country: 'AT' }, headers: { 'Accept-Language': language } });
      titles.push(((await res.json()) as { product: { title: string } }).product.title);
    }
    expect(titles).toStrictEqual(['Tasse', 'Mug', 'Tasse', 'Mug']);
  });

  it('serves the new price right after the cache versions move', async () => {
    const product = await insertProductRow({ variants: [{ prices: { EUR: 1000 } }] });
    const path = `/v1/store/products/${product.handle}`;
    await (await call(path, { cf: { country: 'DE' } })).arrayBuffer();
    const cached = await call(path, { cf: { country: 'DE' } });
    expect(cached.headers.get('X-Cache')).toBe('HIT');
    await cached.arrayBuffer();

    await setPriceRow(product.variants[0]?.id as string, 'EUR', 1500);
    await invalidateCatalogCache();

    const fresh = await call(path, { cf: { country: 'DE' } });
    expect(fresh.headers.get('X-Cache')).toBe('MISS');
    expect(((await fresh.json()) as Detail).product.price_range.min.amount).toBe(1500);
  });

  it('does not cache errors', async () => {
    const first = await call('/v1/store/products/missing-product', { cf: { country: 'DE' } });
    expect(first.status).toBe(404);
    expect(first.headers.get('X-Cache')).toBeNull();
    await first.arrayBuffer();
    const createdLater = await insertProductRow({ handle: 'missing-product' });
    const second = await call(`/v1/store/products/${createdLater.handle}`, { cf: { country: 'DE' } });
    expect(second.status).toBe(200);
  });

  it('tells every cache not to keep an error, which depends on the shopper as its successes do', async () => {
    // Errors said nothing about caching, and RFC 9111 lets a shared cache keep a 404 by heuristics: one keyed by
    // URL would hand a British shopper's 404 (not sold in GBP) to a German shopper, for whom the product exists.
    const product = await insertProductRow({ variants: [{ prices: { EUR: 1000 } }] });
    const path = `/v1/store/products/${product.handle}`;
    const notSoldHere = await call(path, { cf: { country: 'GB' } });
    expect(notSoldHere.headers.get('Cache-Control')).toBe('no-store');
    await expectProblem(notSoldHere, 404, 'not_found');
    const sold = await call(path, { cf: { country: 'DE' } });
    expect([sold.status, sold.headers.get('Cache-Control')]).toStrictEqual([200, 'private, no-cache']);
    await sold.arrayBuffer();

    const notOfferedHere = await call(`${path}?locale=fr`, { cf: { country: 'US' } });
    expect(notOfferedHere.headers.get('Cache-Control')).toBe('no-store');
    await expectProblem(notOfferedHere, 422, 'unsupported_locale', [
      { pointer: '/query/locale', message: 'Use one of: en' },
    ]);
    const unknownKey = await call(path, {
      cf: { country: 'DE' },
      headers: { 'X-Publishable-Api-Key': 'pk_key_00000000000000000000000000' },
    });
    expect(unknownKey.headers.get('Cache-Control')).toBe('no-store');
    await expectProblem(unknownKey, 401, 'invalid_publishable_key');
  });

  it('normalizes query order so equivalent URLs share an entry', async () => {
    await insertProductRow();
    const a = await call('/v1/store/products?limit=5&sort=newest', { cf: { country: 'DE' } });
    await a.arrayBuffer();
    const b = await call('/v1/store/products?sort=newest&limit=5', { cf: { country: 'DE' } });
    expect(b.headers.get('X-Cache')).toBe('HIT');
  });

  it('never answers one query with the cached page of a different one', async () => {
    // URLSearchParams reads an undecodable %FF as U+FFFD, as it does the valid encoding of U+FFFD itself; the
    // validators read the text "%FF". Keyed by the former, the second search was handed the first one's page.
    const product = await insertProductRow({ translations: { en: { title: 'Widget ff gadget' } } });
    const first = await call('/v1/store/products?q=%FF', { cf: { country: 'US' } });
    expect(first.status).toBe(200);
    expect(((await first.json()) as Listing).data.map((p) => p.handle)).toContain(product.handle);

    const second = await call('/v1/store/products?q=%EF%BF%BD', { cf: { country: 'US' } });
    await expectProblem(second, 422, 'validation_failed', [
      { pointer: '/query/q', message: 'Search needs at least one letter or digit' },
    ]);
  });
});

describe('edge cache, per requester', () => {
  const accessControl = (res: Response) =>
    Object.fromEntries([...res.headers].filter(([name]) => name.startsWith('access-control-')));
  const EXPOSED =
    'ETag,X-Request-Id,X-Cache,Server-Timing,Retry-After,Location,Idempotent-Replayed,X-D1-Bookmark';

  it('computes CORS headers and the request id for each request, never replaying the first one’s', async () => {
    const product = await insertProductRow();
    const path = `/v1/store/products/${product.handle}`;
    const get = async (origin?: string) => {
      const res = await call(path, { cf: { country: 'DE' }, headers: origin ? { Origin: origin } : {} });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      return res;
    };

    const miss = await get('https://shop.test');
    expect(miss.headers.get('X-Cache')).toBe('MISS');
    expect(accessControl(miss)).toStrictEqual({
      'access-control-allow-origin': 'https://shop.test',
      'access-control-expose-headers': EXPOSED,
    });

    const otherAllowed = await get('https://admin.test');
    expect(otherAllowed.headers.get('X-Cache')).toBe('HIT');
    expect(accessControl(otherAllowed)).toStrictEqual({
      'access-control-allow-origin': 'https://admin.test',
      'access-control-expose-headers': EXPOSED,
    });
    expect(otherAllowed.headers.get('Vary')).toBe('Accept-Language, Origin');

    const disallowed = await get('https://evil.test');
    expect(disallowed.headers.get('X-Cache')).toBe('HIT');
    expect(accessControl(disallowed)).toStrictEqual({ 'access-control-expose-headers': EXPOSED });

    const noOrigin = await get();
    expect(noOrigin.headers.get('X-Cache')).toBe('HIT');
    expect(accessControl(noOrigin)).toStrictEqual({});
    expect(noOrigin.headers.get('Vary')).toBe('Accept-Language, Origin');

    const ids = [miss, otherAllowed, disallowed, noOrigin].map((r) => r.headers.get('X-Request-Id'));
    expect(new Set(ids).size).toBe(4);
    expect(noOrigin.headers.get('Server-Timing')).toContain('cache;desc="HIT"');
    expect(miss.headers.get('Server-Timing')).toContain('cache;desc="MISS"');
  });

  it('never reads a request carrying Authorization from the cache', async () => {
    const product = await insertProductRow({ variants: [{ prices: { EUR: 1000 } }] });
    const path = `/v1/store/products/${product.handle}`;
    await (await call(path, { cf: { country: 'DE' } })).arrayBuffer();
    const cached = await call(path, { cf: { country: 'DE' } });
    expect(cached.headers.get('X-Cache')).toBe('HIT');
    await cached.arrayBuffer();
    // Changed without moving a cache version: only a response that skipped the cache can show it.
    await setPriceRow(product.variants[0]?.id as string, 'EUR', 1500);

    const credentialed = await call(path, { cf: { country: 'DE' }, headers: { Authorization: 'Bearer x' } });
    expect(credentialed.status).toBe(200);
    expect(credentialed.headers.get('X-Cache')).toBeNull();
    expect(credentialed.headers.get('Server-Timing')).toContain('cache;desc="BYPASS"');
    expect(((await credentialed.json()) as Detail).product.price_range.min.amount).toBe(1500);

    const anonymous = await call(path, { cf: { country: 'DE' } });
    expect(anonymous.headers.get('X-Cache')).toBe('HIT');
    expect(((await anonymous.json()) as Detail).product.price_range.min.amount).toBe(1000);
  });

  it('never stores the response to a request carrying Authorization', async () => {
    const product = await insertProductRow();
    const path = `/v1/store/products/${product.handle}`;
    for (let i = 0; i < 2; i++) {
      const credentialed = await call(path, {
        cf: { country: 'DE' },
        headers: { Authorization: 'Bearer x' },
      });
      expect(credentialed.status).toBe(200);
      expect(credentialed.headers.get('X-Cache')).toBeNull();
      expect(credentialed.headers.get('Server-Timing')).toContain('cache;desc="BYPASS"');
      await credentialed.arrayBuffer();
    }
    const anonymous = await call(path, { cf: { country: 'DE' } });
    expect(anonymous.headers.get('X-Cache')).toBe('MISS');
    await anonymous.arrayBuffer();
  });
});

describe('cacheKeyFor', () => {
  const context = { country: 'DE', region: 'eu', locale: 'de', version: 'v1' };
  /** The key of a URL, from its query as the middleware reads it (and the validators do). */
  const keyOf = (url: string) =>
    cacheKeyFor(new URL(url).pathname, new HonoRequest(new Request(url)).queries(), context);
  afterEach(() => vi.restoreAllMocks());

  it('gives every order of the same parameters one key, without the context parameters', () => {
    const keys = ['?b=2&a=1&a=0&region=eu', '?a=0&locale=de&b=2&a=1', '?a=1&b=2&a=0'].map((query) =>
      keyOf(`https://api.test/v1/store/products${query}`),
    );
    expect(new Set(keys)).toStrictEqual(
      new Set([
        'https://edge-cache.edgecart.internal/v1/store/products?a=0&a=1&b=2&__country=DE&__region=eu&__locale=de&__v=v1',
      ]),
    );
  });

  it('keys a value as the validators read it: an undecodable escape stays text, apart from U+FFFD', () => {
    const [undecodable, replacement] = ['%FF', '%EF%BF%BD'].map((q) =>
      keyOf(`https://api.test/v1/store/products?q=${q}`),
    );
    expect(undecodable).toBe(
      'https://edge-cache.edgecart.internal/v1/store/products?q=%25FF&__country=DE&__region=eu&__locale=de&__v=v1',
    );
    expect(replacement).toBe(
      'https://edge-cache.edgecart.internal/v1/store/products?q=%EF%BF%BD&__country=DE&__region=eu&__locale=de&__v=v1',
    );
  });

  it('sorts once and serializes once, however many parameters there are', () => {
    const url = `https://api.test/v1/store/products?${'a=&'.repeat(5000)}z=1&a=2`;
    const query = new HonoRequest(new Request(url)).queries();
    const sort = vi.spyOn(Array.prototype, 'sort');
    const append = vi.spyOn(URLSearchParams.prototype, 'append');
    const set = vi.spyOn(URLSearchParams.prototype, 'set');
    const serialize = vi.spyOn(URLSearchParams.prototype, 'toString');
    const key = cacheKeyFor('/v1/store/products', query, context);
    expect([sort.mock.calls.length, append.mock.calls.length, set.mock.calls.length]).toStrictEqual([
      1, 0, 0,
    ]);
    expect(serialize.mock.calls.length).toBe(1);
    expect(key).toBe(
      `https://edge-cache.edgecart.internal/v1/store/products?${'a=&'.repeat(5000)}a=2&z=1&__country=DE&__region=eu&__locale=de&__v=v1`,
    );
  });
});

describe('versionTag', () => {
  it('puts the response format before the scopes’ versions, so a change of format misses every cached page', () => {
    const versions = new CacheVersions(
      new Map([
        ['catalog', 7],
        ['listing', 1795690869140],
      ]),
      null,
    );
    expect(versionTag(versions, ['catalog', 'listing'])).toBe(`${RESPONSE_FORMAT}.7.1795690869140`);
  });
});
