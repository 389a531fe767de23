import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_QUERY_PARAMETERS, MAX_URL_LENGTH } from '../../src/middleware/request-bounds';
import { insertProductRow, seedRegions } from '../helpers/catalog-fixtures';
import { call, ORIGIN } from '../helpers/http';

beforeAll(seedRegions);

/** A catalog path padded with one ignored parameter so that the whole URL is exactly `length` characters. */
function urlOfLength(length: number): string {
  const path = '/v1/store/products?limit=1&pad=';
  return `${path}${'x'.repeat(length - ORIGIN.length - path.length)}`;
}

/** `count` query parameters on a catalog path, all ignored by the route except `limit`. */
const withParameters = (count: number) => `/v1/store/products?limit=1${'&p='.repeat(count - 1)}`;

describe('request bounds', () => {
  it('answers a URL over the limit with 414 before routing, on any path', async () => {
    for (const path of [urlOfLength(MAX_URL_LENGTH + 1), `/no/such/route?x=${'y'.repeat(MAX_URL_LENGTH)}`]) {
      const res = await call(path, { cf: { country: 'DE' } });
      expect(res.status).toBe(414);
      expect(res.headers.get('Content-Type')).toBe('application/problem+json');
      expect(res.headers.get('X-Cache')).toBeNull();
      expect(await res.json()).toStrictEqual({
        type: 'https://edgecart.dev/problems/uri_too_long',
        title: 'URI Too Long',
        status: 414,
        detail: `The URL exceeds ${MAX_URL_LENGTH} characters.`,
        code: 'uri_too_long',
        request_id: res.headers.get('X-Request-Id'),
      });
    }
  });

  it('answers too many query parameters with 422 pointing at the query, even with empty ones', async () => {
    const cases = [
      [withParameters(MAX_QUERY_PARAMETERS + 1), MAX_QUERY_PARAMETERS + 1],
      [`/v1/admin/products?${'&='.repeat(4000)}`, 4000],
    ] as const;
    for (const [path, count] of cases) {
      const res = await call(path, { cf: { country: 'DE' } });
      expect(res.status).toBe(422);
      expect(res.headers.get('Content-Type')).toBe('application/problem+json');
      expect(await res.json()).toStrictEqual({
        type: 'https://edgecart.dev/problems/too_many_query_parameters',
        title: 'Unprocessable Content',
        status: 422,
        detail: `The request has ${count} query parameters; at most ${MAX_QUERY_PARAMETERS} are accepted.`,
        code: 'too_many_query_parameters',
        request_id: res.headers.get('X-Request-Id'),
        errors: [{ pointer: '/query', message: `Send at most ${MAX_QUERY_PARAMETERS} query parameters.` }],
      });
    }
  });

  it('answers a request at both limits as usual', async () => {
    const product = await insertProductRow();
    const longest = await call(urlOfLength(MAX_URL_LENGTH), { cf: { country: 'DE' } });
    expect(longest.status).toBe(200);
    expect(((await longest.json()) as { data: { id: string }[] }).data).toStrictEqual([
      expect.objectContaining({ id: product.id }),
    ]);
    const widest = await call(withParameters(MAX_QUERY_PARAMETERS), { cf: { country: 'DE' } });
    expect(widest.status).toBe(200);
    expect(((await widest.json()) as { data: { id: string }[] }).data).toStrictEqual([
      expect.objectContaining({ id: product.id }),
    ]);
  });
});
