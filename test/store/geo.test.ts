import { beforeAll, describe, expect, it } from 'vitest';
import { seedRegions } from '../helpers/catalog-fixtures';
import { call, problemOf } from '../helpers/http';

beforeAll(seedRegions);

async function contextFor(init: Parameters<typeof call>[1], query = '') {
  const res = await call(`/v1/store/regions${query}`, init);
  expect(res.status).toBe(200);
  return ((await res.json()) as { context: unknown }).context;
}

describe('geo resolution', () => {
  it.each([
    [
      'DE',
      undefined,
      { country: 'DE', region: 'eu', currency: 'EUR', locale: 'de', tax_inclusive: true, tax_rate: 0.19 },
    ],
    [
      'AT',
      'en-GB,en;q=0.9',
      { country: 'AT', region: 'eu', currency: 'EUR', locale: 'en', tax_inclusive: true, tax_rate: 0.19 },
    ],
    [
      'FR',
      'fr-FR',
      { country: 'FR', region: 'eu', currency: 'EUR', locale: 'fr', tax_inclusive: true, tax_rate: 0.19 },
    ],
    [
      'US',
      'de',
      { country: 'US', region: 'us', currency: 'USD', locale: 'en', tax_inclusive: false, tax_rate: 0.0825 },
    ],
    [
      'GB',
      undefined,
      { country: 'GB', region: 'uk', currency: 'GBP', locale: 'en', tax_inclusive: true, tax_rate: 0.2 },
    ],
    [
      'JP',
      undefined,
      { country: 'JP', region: 'jp', currency: 'JPY', locale: 'ja', tax_inclusive: true, tax_rate: 0.1 },
    ],
    [
      'BR',
      undefined,
      { country: 'BR', region: 'us', currency: 'USD', locale: 'en', tax_inclusive: false, tax_rate: 0.0825 },
    ],
  ])('country %s with Accept-Language %s', async (country, language, expected) => {
    const headers: Record<string, string> = language ? { 'Accept-Language': language } : {};
    expect(await contextFor({ cf: { country }, headers })).toStrictEqual(expected);
  });

  it('falls back to the default region when the edge reports no usable country (Tor: T1)', async () => {
    expect(await contextFor({ cf: { country: 'T1' } })).toStrictEqual({
      country: null,
      region: 'us',
      currency: 'USD',
      locale: 'en',
      tax_inclusive: false,
      tax_rate: 0.0825,
    });
  });

  it('lets explicit region and locale parameters override the edge', async () => {
    expect(await contextFor({ cf: { country: 'US' } }, '?region=jp&locale=en')).toStrictEqual({
      country: 'US',
      region: 'jp',
      currency: 'JPY',
      locale: 'en',
      tax_inclusive: true,
      tax_rate: 0.1,
    });
  });

  it('rejects an unknown region with 422 and a pointer', async () => {
    const res = await call('/v1/store/regions?region=mars', { cf: { country: 'DE' } });
    expect(res.status).toBe(422);
    const body = await problemOf(res);
    expect(body.code).toBe('unknown_region');
    expect(body.errors).toStrictEqual([{ pointer: '/query/region', message: 'Use one of: eu, jp, uk, us' }]);
  });

  it('quotes at most 32 characters of an unknown region, never half of one', async () => {
    const region = `${'a'.repeat(31)}😀`; // the cut at 32 code units falls inside the emoji
    const res = await call(`/v1/store/regions?region=${encodeURIComponent(region)}`, {
      cf: { country: 'DE' },
    });
    expect(res.status).toBe(422);
    const body = await problemOf(res);
    // Checked first: vitest cannot report a string that holds half a character.
    expect(body.detail.isWellFormed()).toBe(true);
    expect(body).toStrictEqual({
      type: 'https://edgecart.dev/problems/unknown_region',
      title: 'Unprocessable Content',
      status: 422,
      detail: `There is no region "${'a'.repeat(31)}".`,
      code: 'unknown_region',
      request_id: res.headers.get('X-Request-Id'),
      errors: [{ pointer: '/query/region', message: 'Use one of: eu, jp, uk, us' }],
    });
  });

  it('rejects a locale the region does not offer', async () => {
    const res = await call('/v1/store/regions?region=uk&locale=de');
    expect(res.status).toBe(422);
    const body = await problemOf(res);
    expect(body.code).toBe('unsupported_locale');
    expect(body.errors).toStrictEqual([{ pointer: '/query/locale', message: 'Use one of: en' }]);
  });

  it('rejects a malformed region parameter through schema validation', async () => {
    const res = await call('/v1/store/regions?region=EU%20;DROP');
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.[0]?.pointer).toBe('/query/region');
  });

  it('lists every region with its countries and locales', async () => {
    const res = await call('/v1/store/regions', { cf: { country: 'GB' } });
    const body = (await res.json()) as { data: unknown[] };
    expect(body.data).toStrictEqual([
      {
        id: expect.stringMatching(/^reg_/),
        code: 'eu',
        name: 'European Union',
        currency: 'EUR',
        tax_rate: 0.19,
        tax_inclusive: true,
        locales: ['de', 'en', 'fr'],
        countries: ['AT', 'DE', 'FR', 'NL'],
      },
      {
        id: expect.stringMatching(/^reg_/),
        code: 'jp',
        name: 'Japan',
        currency: 'JPY',
        tax_rate: 0.1,
        tax_inclusive: true,
        locales: ['ja', 'en'],
        countries: ['JP'],
      },
      {
        id: expect.stringMatching(/^reg_/),
        code: 'uk',
        name: 'United Kingdom',
        currency: 'GBP',
        tax_rate: 0.2,
        tax_inclusive: true,
        locales: ['en'],
        countries: ['GB'],
      },
      {
        id: expect.stringMatching(/^reg_/),
        code: 'us',
        name: 'United States',
        currency: 'USD',
        tax_rate: 0.0825,
        tax_inclusive: false,
        locales: ['en'],
        countries: ['US'],
      },
    ]);
  });
});
