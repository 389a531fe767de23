import { beforeAll, describe, expect, it } from 'vitest';
import {
  type AdminVariantBody,
  admin,
  catalogVersion,
  createProduct,
  ensureCurrencySold,
  expectRejected,
  rows,
} from '../helpers/admin-fixtures';
import { unique } from '../helpers/unique';

const any = expect.any(String);
const anyDate = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

beforeAll(async () => {
  await ensureCurrencySold('EUR');
  await ensureCurrencySold('GBP');
});

/** A product with options Size and Color and one variant (M / Blue). */
async function product() {
  const created = await createProduct({
    options: [{ name: 'Size' }, { name: 'Color' }],
    variants: [
      {
        sku: unique('BASE'),
        title: 'M / Blue',
        options: { Size: 'M', Color: 'Blue' },
        prices: [{ currency: 'EUR', amount: 1000 }],
      },
    ],
  });
  const [variant] = created.variants;
  if (!variant) throw new Error('fixture product has no variant');
  return { ...created, variant };
}

describe('POST /v1/admin/products/{id}/variants', () => {
  it('adds a variant after the existing ones and bumps the version', async () => {
    const { id } = await product();
    const sku = unique('NEW');
    const before = await catalogVersion();

    const res = await admin('POST', `/products/${id}/variants`, {
      sku,
      title: 'L / Red',
      options: { Size: 'L', Color: 'Red' },
      weight_grams: 350,
      barcode: '123',
      prices: [
        { currency: 'GBP', amount: 900 },
        { currency: 'EUR', amount: 0 },
      ],
    });

    expect(res.status).toBe(201);
    const body = await res.json<AdminVariantBody>();
    expect(body).toStrictEqual({
      id: expect.stringMatching(/^var_[0-9A-Z]{26}$/),
      product_id: id,
      sku,
      title: 'L / Red',
      options: { Size: 'L', Color: 'Red' },
      weight_grams: 350,
      barcode: '123',
      position: 1,
      prices: [
        { currency: 'EUR', amount: 0 },
        { currency: 'GBP', amount: 900 },
      ],
      created_at: anyDate,
      updated_at: anyDate,
    });
    expect(res.headers.get('Location')).toBe(`/v1/admin/variants/${body.id}`);
    expect(await rows('SELECT product_id, sku, position FROM variants WHERE id = ?', body.id)).toStrictEqual([
      { product_id: id, sku, position: 1 },
    ]);
    expect(
      await rows('SELECT currency_code, amount FROM prices WHERE variant_id = ? ORDER BY 1', body.id),
    ).toStrictEqual([
      { currency_code: 'EUR', amount: 0 },
      { currency_code: 'GBP', amount: 900 },
    ]);
    expect(await catalogVersion()).not.toBe(before);
  });

  it('refuses an unknown product with 404', async () => {
    await expectRejected(
      () => admin('POST', '/products/prod_nope/variants', { sku: unique('X'), title: 'X' }),
      404,
      'not_found',
    );
  });

  it('refuses option values that do not match the product with 422', async () => {
    const { id } = await product();
    await expectRejected(
      () =>
        admin('POST', `/products/${id}/variants`, { sku: unique('X'), title: 'X', options: { Size: 'S' } }),
      422,
      'validation_failed',
      [
        {
          pointer: '/body/options',
          message: 'Give a value for each product option (Size, Color); missing Color',
        },
      ],
    );
  });

  it('refuses the option values of an existing variant with 409', async () => {
    const { id } = await product();
    await expectRejected(
      () =>
        admin('POST', `/products/${id}/variants`, {
          sku: unique('X'),
          title: 'X',
          options: { Color: 'Blue', Size: 'M' },
        }),
      409,
      'variant_options_taken',
      [{ pointer: '/body/options', message: 'Choose a combination no other variant has' }],
    );
  });

  it('refuses a SKU another variant has with 409', async () => {
    const { id, variant } = await product();
    await expectRejected(
      () =>
        admin('POST', `/products/${id}/variants`, {
          sku: variant.sku,
          title: 'X',
          options: { Size: 'S', Color: 'Red' },
        }),
      409,
      'sku_taken',
      [{ pointer: '/body/sku', message: `Another variant already has the SKU "${variant.sku}"` }],
    );
  });

  it('refuses a currency no region sells with 422', async () => {
    const { id } = await product();
    const body = {
      sku: unique('X'),
      title: 'X',
      options: { Size: 'S', Color: 'Red' },
      prices: [{ currency: 'CHF', amount: 5 }],
    };
    await expectRejected(() => admin('POST', `/products/${id}/variants`, body), 422, 'currency_not_sold', [
      { pointer: '/body/prices/0/currency', message: 'No region sells in CHF' },
    ]);
  });
});

describe('PATCH /v1/admin/variants/{id}', () => {
  it('changes the given fields and bumps the version', async () => {
    const { variant } = await product();
    const sku = unique('RENAMED');
    const before = await catalogVersion();

    const res = await admin('PATCH', `/variants/${variant.id}`, {
      sku,
      title: 'M / Green',
      options: { Size: 'M', Color: 'Green' },
      weight_grams: null,
      barcode: 'B-1',
      position: 5,
    });

    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual({
      ...variant,
      sku,
      title: 'M / Green',
      options: { Size: 'M', Color: 'Green' },
      weight_grams: null,
      barcode: 'B-1',
      position: 5,
      updated_at: anyDate,
    });
    expect(
      await rows('SELECT sku, title, options, barcode, position FROM variants WHERE id = ?', variant.id),
    ).toStrictEqual([
      { sku, title: 'M / Green', options: '{"Size":"M","Color":"Green"}', barcode: 'B-1', position: 5 },
    ]);
    expect(await catalogVersion()).not.toBe(before);
  });

  it('keeps its own SKU and option values when they are sent again', async () => {
    const { variant } = await product();
    const res = await admin('PATCH', `/variants/${variant.id}`, {
      sku: variant.sku,
      options: variant.options,
    });
    expect(res.status).toBe(200);
  });

  it.each([
    ['an empty change', {}, '/body', 'Send at least one field to change'],
    ['an empty title', { title: '' }, '/body/title', any],
    ['a price list, which has its own endpoint', { prices: [] }, '/body/prices', 'Unknown field'],
  ])('refuses %s with 422', async (_, body, pointer, message) => {
    const { variant } = await product();
    await expectRejected(() => admin('PATCH', `/variants/${variant.id}`, body), 422, 'validation_failed', [
      { pointer, message },
    ]);
  });

  it('refuses option values of another product option set with 422', async () => {
    const { variant } = await product();
    await expectRejected(
      () => admin('PATCH', `/variants/${variant.id}`, { options: { Size: 'M', Material: 'Clay' } }),
      422,
      'validation_failed',
      [{ pointer: '/body/options', message: any }],
    );
  });

  it('refuses the option values of a sibling with 409', async () => {
    const { id, variant } = await product();
    const sibling = await admin('POST', `/products/${id}/variants`, {
      sku: unique('SIB'),
      title: 'S',
      options: { Size: 'S', Color: 'Blue' },
    });
    expect(sibling.status).toBe(201);
    await expectRejected(
      () => admin('PATCH', `/variants/${variant.id}`, { options: { Size: 'S', Color: 'Blue' } }),
      409,
      'variant_options_taken',
      [{ pointer: '/body/options', message: any }],
    );
  });

  it('refuses the SKU of another variant with 409', async () => {
    const [a, b] = [await product(), await product()];
    await expectRejected(
      () => admin('PATCH', `/variants/${a.variant.id}`, { sku: b.variant.sku }),
      409,
      'sku_taken',
      [{ pointer: '/body/sku', message: any }],
    );
  });

  it('refuses an unknown variant with 404', async () => {
    await expectRejected(() => admin('PATCH', '/variants/var_nope', { title: 'X' }), 404, 'not_found');
  });
});

describe('DELETE /v1/admin/variants/{id}', () => {
  it('deletes the variant with its prices and bumps the version', async () => {
    const { id, variant } = await product();
    const before = await catalogVersion();
    const res = await admin('DELETE', `/variants/${variant.id}`);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect(await rows('SELECT id FROM variants WHERE id = ?', variant.id)).toStrictEqual([]);
    expect(await rows('SELECT * FROM prices WHERE variant_id = ?', variant.id)).toStrictEqual([]);
    expect(await rows('SELECT id FROM products WHERE id = ?', id)).toStrictEqual([{ id }]);
    expect(await catalogVersion()).not.toBe(before);
  });

  it('refuses an unknown variant with 404', async () => {
    await expectRejected(() => admin('DELETE', '/variants/var_nope'), 404, 'not_found');
  });
});

describe('PUT /v1/admin/variants/{id}/prices', () => {
  it('replaces the whole price list and bumps the version', async () => {
    const { variant } = await product();
    const before = await catalogVersion();
    const res = await admin('PUT', `/variants/${variant.id}/prices`, {
      prices: [
        { currency: 'GBP', amount: 999_999_999_999 },
        { currency: 'EUR', amount: 1250 },
      ],
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual({
      ...variant,
      prices: [
        { currency: 'EUR', amount: 1250 },
        { currency: 'GBP', amount: 999_999_999_999 },
      ],
      updated_at: anyDate,
    });
    expect(
      await rows('SELECT currency_code, amount FROM prices WHERE variant_id = ? ORDER BY 1', variant.id),
    ).toStrictEqual([
      { currency_code: 'EUR', amount: 1250 },
      { currency_code: 'GBP', amount: 999_999_999_999 },
    ]);
    expect(await catalogVersion()).not.toBe(before);
  });

  it('clears the prices with an empty list', async () => {
    const { variant } = await product();
    const res = await admin('PUT', `/variants/${variant.id}/prices`, { prices: [] });
    expect(res.status).toBe(200);
    expect((await res.json<AdminVariantBody>()).prices).toStrictEqual([]);
    expect(await rows('SELECT * FROM prices WHERE variant_id = ?', variant.id)).toStrictEqual([]);
  });

  it('refuses a currency no region sells with 422, pointing at it', async () => {
    const { variant } = await product();
    const body = {
      prices: [
        { currency: 'EUR', amount: 1 },
        { currency: 'SEK', amount: 2 },
      ],
    };
    await expectRejected(
      () => admin('PUT', `/variants/${variant.id}/prices`, body),
      422,
      'currency_not_sold',
      [{ pointer: '/body/prices/1/currency', message: 'No region sells in SEK' }],
    );
  });

  it.each([
    ['an amount of 10^12', [{ currency: 'EUR', amount: 1e12 }], '/body/prices/0/amount', any],
    ['a negative amount', [{ currency: 'EUR', amount: -1 }], '/body/prices/0/amount', any],
    ['a fractional amount', [{ currency: 'EUR', amount: 0.5 }], '/body/prices/0/amount', any],
    ['an amount as a string', [{ currency: 'EUR', amount: '100' }], '/body/prices/0/amount', any],
    [
      'an invented currency',
      [{ currency: 'EUX', amount: 1 }],
      '/body/prices/0/currency',
      'Not an ISO 4217 currency',
    ],
    [
      'a repeated currency',
      [
        { currency: 'EUR', amount: 1 },
        { currency: 'EUR', amount: 1 },
      ],
      '/body/prices/1/currency',
      'Duplicate currency "EUR"',
    ],
    [
      'an unknown price field',
      [{ currency: 'EUR', amount: 1, compare_at: 2 }],
      '/body/prices/0/compare_at',
      'Unknown field',
    ],
  ])('refuses %s with 422', async (_, prices, pointer, message) => {
    const { variant } = await product();
    await expectRejected(
      () => admin('PUT', `/variants/${variant.id}/prices`, { prices }),
      422,
      'validation_failed',
      [{ pointer, message }],
    );
  });

  it('refuses a bare array with 422', async () => {
    const { variant } = await product();
    await expectRejected(
      () => admin('PUT', `/variants/${variant.id}/prices`, [{ currency: 'EUR', amount: 1 }]),
      422,
      'validation_failed',
      [{ pointer: '/body', message: any }],
    );
  });

  it('refuses an unknown variant with 404', async () => {
    await expectRejected(() => admin('PUT', '/variants/var_nope/prices', { prices: [] }), 404, 'not_found');
  });

  it('refuses malformed JSON with 400', async () => {
    const { variant } = await product();
    await expectRejected(
      () => admin('PUT', `/variants/${variant.id}/prices`, '{"prices": ['),
      400,
      'malformed_json',
    );
  });
});
